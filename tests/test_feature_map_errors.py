"""The messages of feature_map / FeatureNetwork.build on a network they cannot cut or load.

These paths share helpers in skspectral.models (one check of a state dict against a module,
one message for a ``features`` of the wrong kind); each message is pinned here in full.
"""

import re

import pytest
import torch
import torch.nn as nn

from skspectral.models import FeatureNetwork, check_network, feature_map


def _cnn(width=2, n_out=3):
    return nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.Flatten(),
                         nn.Linear(4 * width, n_out))


def test_a_features_of_another_kind_is_refused_with_one_message_by_both_checks():
    message = "features must be None, a submodule name or a callable module -> Φ; got int."
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        check_network(_cnn(), features=3)
    with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
        feature_map(_cnn(), (1, 4, 4), features=3)


def test_a_features_callable_must_return_a_module():
    with pytest.raises(TypeError, match=r"^features \(a callable\) must return the Φ module, "
                                        r"an nn.Module; it returned int\.$"):
        feature_map(_cnn(), (1, 4, 4), features=lambda net: 3)


def test_feature_map_cuts_at_a_named_submodule_or_a_callable_alike():
    net = _cnn()
    phi, d, readout = feature_map(net, (1, 4, 4), features="0")
    assert (isinstance(phi, nn.Conv2d), d, readout) == (True, 8, None)
    phi, d, readout = feature_map(net, (1, 4, 4), features=lambda n: n[0])
    assert (isinstance(phi, nn.Conv2d), d, readout) == (True, 8, None)


def test_whole_network_weights_that_do_not_fit_name_the_first_five_keys():
    source = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8, 3),
                           nn.Linear(3, 3), nn.Linear(3, 3), nn.Linear(3, 3))
    state = {k: torch.zeros(1) for k in source.state_dict()}  # every shape wrong
    with pytest.raises(ValueError) as info:
        FeatureNetwork.build(source, n_classes=2, input_shape=(1, 4, 4),
                             pretrained_weights=state)
    assert str(info.value) == (
        "pretrained weights do not fit Sequential as built (its parameters must match the "
        "source's): 0 missing []; 10 of another shape ['0.weight: (1,) for (2, 1, 3, 3)', "
        "'0.bias: (1,) for (2,)', '3.weight: (1,) for (3, 8)', '3.bias: (1,) for (3,)', "
        "'4.weight: (1,) for (3, 3)', ...].")


def test_whole_network_weights_with_missing_keys_list_them():
    source = _cnn()
    state = {k: v for k, v in source.state_dict().items() if k != "3.bias"}
    with pytest.raises(ValueError, match=re.escape("1 missing ['3.bias']; 0 of another "
                                                   "shape [].")):
        FeatureNetwork.build(_cnn(), n_classes=2, input_shape=(1, 4, 4),
                             pretrained_weights=state)
