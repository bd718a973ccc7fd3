"""The skorch hooks of skspectral's callbacks document every parameter they take.

Their Parameters sections are written once (``regularization._hooks.hook_parameters``); the
documented names must be the signature's, in its order, and the hook's own summary stays first.
"""

import inspect
import re

import pytest

from skspectral.regularization import (
    L2SP,
    BackboneWarmup,
    BatchSpectralShrinkage,
    SpectralRegularization,
)

HOOKS = [(cls, name) for cls in (BatchSpectralShrinkage, L2SP, BackboneWarmup,
                                 SpectralRegularization)
         for name in vars(cls) if name.startswith("on_")]


@pytest.mark.parametrize(("cls", "name"), HOOKS,
                         ids=[f"{c.__name__}.{n}" for c, n in HOOKS])
def test_a_hook_documents_its_signature(cls, name):
    hook = getattr(cls, name)
    doc = inspect.getdoc(hook)
    summary, _, section = doc.partition("\n\nParameters\n----------\n")
    assert summary and "\n" not in summary.strip()
    documented = re.findall(r"^(?:\*\*)?(\w+) : ", section, flags=re.M)
    expected = [p for p in inspect.signature(hook).parameters if p != "self"]
    assert documented == expected


def test_the_net_is_documented_as_the_callback_uses_it():
    assert "net : skspectral.training.SpectralNet\n    The net being trained; its " \
        "``penalty_``" in inspect.getdoc(SpectralRegularization.on_epoch_end)
    assert "net : skorch.NeuralNet\n    The net being trained.\n" \
        in inspect.getdoc(L2SP.on_grad_computed)
    assert "``freeze_backbone_``" in inspect.getdoc(BackboneWarmup.on_epoch_begin)
