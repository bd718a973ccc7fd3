"""Any network as ``head(features(x))``: Φ found in a user's module or a torchvision model.

:func:`build_network` makes the network (an ``nn.Module`` class with its parameters, a copy of
an instance, or a torchvision classification model by name); :func:`small_stem_` adapts a
torchvision family's stem to 32 x 32 images; :func:`feature_map` cuts the network at the
representation Φ (by default everything before the final Linear readout); and
:class:`FeatureNetwork` puts Φ and a new readout for the task's classes together, as every
skspectral model is (``features``, ``head``).
"""

import copy
import difflib
import inspect
from collections import OrderedDict

import torch
import torch.nn as nn
import torchvision

from ..regularization import PENALIZABLE_TYPES
from ._backbone import (
    BackboneMixin,
    load_backbone_state,
    preprocessing,
    read_state,
    require_fit,
)

__all__ = ["SMALL_STEM_FAMILIES", "FeatureNetwork", "build_network", "check_network",
           "feature_map", "small_stem_", "torchvision_model_names"]

#: The torchvision families :func:`small_stem_` adapts, and what it does to each.
SMALL_STEM_FAMILIES = {
    "ResNet": "3x3 stride-1 conv1, no max-pool (resnet*, wide_resnet*, resnext*)",
    "ConvNeXt": "3x3 stride-1 stem instead of the 4x4 stride-4 patchify convolution",
    "EfficientNet": "stride-1 first convolution",
    "MobileNetV2": "stride-1 first convolution",
    "MobileNetV3": "stride-1 first convolution",
    "RegNet": "stride-1 stem convolution",
}

# torchvision's model namespaces that hold no classification model, by task.
_OTHER_TASKS = ("detection", "segmentation", "video", "optical_flow", "quantization")


def torchvision_model_names():
    """Names of torchvision's classification models (those :func:`build_network` takes).

    Returns
    -------
    list of str
        ``torchvision.models.list_models(module=torchvision.models)``.

    Examples
    --------
    >>> from skspectral.models import torchvision_model_names
    >>> "resnet18" in torchvision_model_names(), "fasterrcnn_resnet50_fpn" in \
torchvision_model_names()
    (True, False)
    """
    return torchvision.models.list_models(module=torchvision.models)


def _check_torchvision_name(name):
    names = torchvision_model_names()
    if name in names:
        return
    close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
    hint = f"close matches: {close}" if close else "none is close"
    for task in _OTHER_TASKS:
        namespace = getattr(torchvision.models, task, None)
        if namespace is not None and name in torchvision.models.list_models(module=namespace):
            raise ValueError(
                f"{name!r} is a torchvision {task.replace('_', ' ')} model, not a classification "
                f"model: skspectral needs a network that maps an image to class scores "
                f"through a final Linear layer ({hint}; every name: "
                "torchvision.models.list_models(module=torchvision.models)).")
    raise ValueError(f"{name!r} is not a torchvision classification model ({hint}; every name: "
                     "torchvision.models.list_models(module=torchvision.models)).")


def _accepted(target):
    """Keyword names ``target`` accepts, or None when it takes ``**kwargs``."""
    params = inspect.signature(target).parameters.values()
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return None
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"]


def _refused(unknown, label, accepted):
    listed = ", ".join(f"module__{k}" for k in sorted(unknown))
    return ValueError(f"{listed}: not a parameter of {label}, which accepts {sorted(accepted)}.")


def check_network(network, params=None, features=None):
    """Check what :func:`build_network` and :func:`feature_map` can check without building.

    Parameters
    ----------
    network : type, torch.nn.Module or str
        As in :func:`build_network`.
    params : dict, optional
        Constructor parameters (checked against a class's signature; a torchvision model's
        are checked when it is built).
    features : None, str or callable, default=None
        As in :func:`feature_map` (its type only).

    Raises
    ------
    ValueError, TypeError
        As :func:`build_network` would.

    Examples
    --------
    >>> from skspectral.models import check_network
    >>> check_network("resnet181")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: 'resnet181' is not a torchvision classification model (close matches: ...
    """
    params = dict(params or {})
    if features is not None and not isinstance(features, str) and not callable(features):
        raise _features_type_error(features)
    if isinstance(network, nn.Module):
        if params:
            raise _instance_params(network, params)
    elif isinstance(network, type) and issubclass(network, nn.Module):
        accepted = _accepted(network)
        if accepted is not None and set(params) - set(accepted):
            raise _refused(set(params) - set(accepted), network.__name__, accepted)
    elif isinstance(network, str):
        _check_torchvision_name(network)
    else:
        raise TypeError(f"module must be an nn.Module subclass or instance, or a torchvision "
                        f"model name; got {type(network).__name__}.")


def _instance_params(network, params):
    return ValueError(
        f"module is an instance of {type(network).__name__}, so parameters "
        f"{sorted('module__' + k for k in params)} cannot be routed to it: pass the class "
        "instead, or an instance built with them.")


def build_network(network, params=None):
    """A fresh network from a class, an instance or a torchvision model name.

    Parameters
    ----------
    network : type, torch.nn.Module or str
        - an ``nn.Module`` subclass: built as ``network(**params)``;
        - an ``nn.Module`` instance: deep-copied (the original is never modified); takes
          no ``params``;
        - the name of a torchvision classification model (see
          :func:`torchvision_model_names`): built with ``weights=None`` and ``params``
          (e.g. ``{"image_size": 32, "patch_size": 4}`` for ``"vit_b_16"``).
    params : dict, optional
        Keyword arguments of the constructor (an estimator's routed ``module__*``
        parameters, without the prefix).

    Returns
    -------
    torch.nn.Module

    Raises
    ------
    ValueError
        An unknown or non-classification torchvision name (close matches listed);
        parameters the constructor does not accept (the accepted ones listed);
        parameters given with an instance.
    TypeError
        ``network`` of another kind.

    Examples
    --------
    >>> import torch
    >>> from skspectral.models import build_network
    >>> build_network(torch.nn.Linear, {"in_features": 3, "out_features": 2})
    Linear(in_features=3, out_features=2, bias=True)
    >>> build_network(torch.nn.Linear, {"in_features": 3, "out_features": 2, "width": 4})
    Traceback (most recent call last):
    ...
    ValueError: module__width: not a parameter of Linear, which accepts ['bias', 'device', \
'dtype', 'in_features', 'out_features'].
    """
    params = dict(params or {})
    check_network(network, params)
    if isinstance(network, nn.Module):
        return copy.deepcopy(network)
    if isinstance(network, type):
        return network(**params)
    if isinstance(network, str):
        if "weights" in params:
            raise ValueError("module__weights is not routed: pass pretrained_weights (a "
                             "torchvision weights name) to the estimator instead.")
        builder = torchvision.models.get_model_builder(network)
        try:
            return builder(weights=None, **params)
        except TypeError as exc:
            # The builder forwards **kwargs to the model class: name what that accepts.
            cls = type(builder(weights=None))
            accepted = set(_accepted(builder) or []) | set(_accepted(cls) or [])
            accepted -= {"weights", "progress", "kwargs"}
            unknown = set(params) - accepted
            if not unknown:  # accepted by the class, but set by the builder itself
                raise ValueError(
                    f"torchvision's {network} refused {sorted('module__' + k for k in params)} "
                    f"({exc}); build {cls.__name__} itself (module=torchvision.models."
                    f"{cls.__name__}) to choose every parameter.") from exc
            raise _refused(unknown, f"torchvision's {network} ({cls.__name__})",
                           accepted) from exc


def _stem(net):
    """``(parent, attribute)`` of a torchvision family's first convolution, or None."""
    models = torchvision.models
    if isinstance(net, models.ResNet):
        return net, "conv1"
    if isinstance(net, (models.ConvNeXt, models.EfficientNet, models.MobileNetV2,
                        models.MobileNetV3)):
        return net.features[0], "0"
    if isinstance(net, models.RegNet):
        return net.stem, "0"
    if isinstance(net, models.VisionTransformer):
        return net, "conv_proj"
    return None


def _conv_like(old, in_channels, **changes):
    config = dict(kernel_size=old.kernel_size, stride=old.stride, padding=old.padding,
                  dilation=old.dilation, groups=1, bias=old.bias is not None,
                  padding_mode=old.padding_mode)
    config.update(changes)
    return nn.Conv2d(in_channels, old.out_channels, **config)


def small_stem_(net, in_channels=None, small=True):
    """Adapt a torchvision network's stem, in place: for 32 x 32 images, and/or for images
    with another number of channels.

    ``small=True`` keeps the resolution where ImageNet stems cut it by 4 (ResNet) or 2:
    see :data:`SMALL_STEM_FAMILIES`. Vision transformers have no convolutional stem to
    adapt: build them for the image size instead (``image_size=32, patch_size=4``).
    ``in_channels`` rebuilds the first convolution for that many input channels (a new,
    randomly initialized convolution, as is any adapted stem).

    Parameters
    ----------
    net : torch.nn.Module
        A torchvision ResNet, ConvNeXt, EfficientNet, MobileNetV2/V3, RegNet or (for
        ``in_channels`` only) VisionTransformer.
    in_channels : int, optional
        Channels of the images; None keeps the network's.
    small : bool, default=True
        Adapt the stem to small images.

    Returns
    -------
    list of str
        Names of the modules replaced (their parameters are new).

    Raises
    ------
    ValueError
        For a network of another family (``small``), or a vision transformer.

    Examples
    --------
    >>> import torchvision
    >>> from skspectral.models import small_stem_
    >>> net = torchvision.models.resnet18()
    >>> small_stem_(net, in_channels=1)
    ['conv1', 'maxpool']
    >>> net.conv1
    Conv2d(1, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """
    stem = _stem(net)
    family = type(net).__name__
    if small and (stem is None or family == "VisionTransformer"):
        why = ("a vision transformer has no convolutional stem: build it for the image size "
               "instead (module__image_size=32, module__patch_size=4)"
               if family == "VisionTransformer" else
               f"it adapts the torchvision families {sorted(SMALL_STEM_FAMILIES)} only")
        raise ValueError(f"stem='small' cannot adapt {family}: {why}.")
    if stem is None:
        return []
    parent, attr = stem
    old = getattr(parent, attr)
    channels = old.in_channels if in_channels is None else int(in_channels)
    prefix = "" if parent is net else next(n + "." for n, m in net.named_modules() if m is parent)
    replaced = []
    if small and family == "ResNet":
        setattr(parent, attr, _conv_like(old, channels, kernel_size=3, stride=1, padding=1))
        net.maxpool = nn.Identity()
        replaced = [prefix + attr, "maxpool"]
    elif small and family == "ConvNeXt":
        setattr(parent, attr, _conv_like(old, channels, kernel_size=3, stride=1, padding=1))
        replaced = [prefix + attr]
    elif small:
        setattr(parent, attr, _conv_like(old, channels, stride=1))
        replaced = [prefix + attr]
    elif channels != old.in_channels:
        setattr(parent, attr, _conv_like(old, channels))
        replaced = [prefix + attr]
    return replaced


def _named_parent(root, name):
    parent, _, child = name.rpartition(".")
    return (root.get_submodule(parent) if parent else root), child


@torch.no_grad()
def _run_one_sample(module, sample, linear_inputs=None):
    """``module(sample)`` in evaluation mode (its mode restored); with ``linear_inputs``, the
    name and input of every Linear layer that runs are appended to it, in order."""
    hooks = []
    if linear_inputs is not None:
        for name, m in module.named_modules():
            if isinstance(m, nn.Linear):
                hooks.append(m.register_forward_hook(
                    lambda m, args, out, name=name: linear_inputs.append((name, args[0]))))
    was_training = module.training
    module.eval()
    try:
        return module(sample)
    finally:
        module.train(was_training)
        for hook in hooks:
            hook.remove()


def feature_map(network, input_shape, features=None):
    """Cut ``network`` at its representation Φ; return ``(Φ, width of Φ, readout)``.

    ``network`` is not modified: Φ is cut from a deep copy.

    Parameters
    ----------
    network : torch.nn.Module
        The whole network (e.g. from :func:`build_network`).
    input_shape : tuple
        Shape of one input sample as Φ sees it, e.g. ``(3, 32, 32)``; one sample is run
        through Φ to check its output.
    features : None, str or callable, default=None
        - None: everything before the final Linear readout (the last ``nn.Linear`` to run
          in the forward pass), which is replaced by the identity; Φ is the rest of the
          network. This is torchvision's ``fc`` (ResNet, RegNet), ``classifier[-1]``
          (ConvNeXt, EfficientNet, MobileNet) and ``heads.head`` (ViT).
        - a submodule name (as in ``network.named_modules()``): that submodule maps the
          input to Φ;
        - a callable ``network -> Φ-module``.

    Returns
    -------
    phi : torch.nn.Module
        Maps ``(n, *input_shape)`` to features, ``(n, d)`` after flattening.
    d : int
        The width of Φ.
    readout : tuple (name, torch.nn.Linear) or None
        The final Linear that was replaced (``features=None``), else None.

    Raises
    ------
    ValueError
        A ``features`` name that does not exist (the child names listed); a network with no
        Linear layer (``features=None``) or with operations after its final Linear; a Φ
        that fails on one sample, or whose output is not a tensor of shape (n, d) after
        flattening; a Φ with no Linear or convolution (nothing for rep-spectral to
        penalize).
    TypeError
        ``features`` of another kind, or a callable that returns no ``nn.Module``.

    Examples
    --------
    >>> import torch.nn as nn
    >>> from skspectral.models import feature_map
    >>> net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(16, 3))
    >>> phi, d, readout = feature_map(net, (1, 4, 4))
    >>> d, readout
    (16, ('3', Linear(in_features=16, out_features=3, bias=True)))
    >>> feature_map(net, (1, 4, 4), features="body")
    Traceback (most recent call last):
    ...
    ValueError: features='body' is not a submodule of Sequential; its children are ['0', '1', \
'2', '3'].
    """
    return _cut(copy.deepcopy(network), input_shape, features)


def _cut(net, input_shape, features):
    """:func:`feature_map` on ``net`` itself (modified when the readout is replaced)."""
    param = next(net.parameters(), None)
    sample = torch.randn(1, *input_shape, generator=torch.Generator().manual_seed(0),
                         dtype=param.dtype if param is not None else None)
    if param is not None:
        sample = sample.to(param.device)
    readout = readout_input = None
    if features is None:
        phi, readout, readout_input = _cut_at_readout(net, sample, input_shape)
    else:
        phi = _named_phi(net, features, sample)
    try:
        out = _run_one_sample(phi, sample)
    except Exception as exc:
        what = f"Φ ({type(phi).__name__})" if features is None or callable(features) \
            else f"Φ (features={features!r}, a {type(phi).__name__})"
        raise _sample_error(what, input_shape, exc) from exc
    if not isinstance(out, torch.Tensor) or out.ndim < 2 or out.shape[0] != 1:
        what = (f"a {type(out).__name__}" if not isinstance(out, torch.Tensor)
                else f"a tensor of shape {tuple(out.shape)}")
        raise ValueError(f"The feature map Φ must return a tensor of shape (n, ...), (n, d) "
                         f"after flattening; on one sample of shape {tuple(input_shape)} it "
                         f"returned {what}. Pass features= naming the submodule whose output "
                         "is the representation.")
    if readout is not None and not (out.shape == readout_input.shape
                                    and torch.allclose(out, readout_input)):
        raise ValueError(f"{type(net).__name__} computes more after its final Linear "
                         f"readout ({readout[0]!r}), so removing it does not leave Φ: pass "
                         "features= (the name of the submodule whose output is Φ, or a "
                         "callable).")
    if not any(isinstance(m, PENALIZABLE_TYPES) for m in phi.modules()):
        names = "/".join(t.__name__ for t in PENALIZABLE_TYPES)
        raise ValueError(f"The feature map Φ ({type(phi).__name__}) has no {names} layer: "
                         "rep-spectral has nothing to penalize before the features.")
    return phi, int(out[0].numel()), readout


def _cut_at_readout(net, sample, input_shape):
    """Replace the last Linear layer to run by the identity: ``(net, (name, layer), its
    input on ``sample``)``."""
    ran = []
    try:
        _run_one_sample(net, sample, linear_inputs=ran)
    except Exception as exc:
        raise _sample_error(type(net).__name__, input_shape, exc) from exc
    if not ran:
        raise ValueError(f"{type(net).__name__} runs no Linear layer, so it has no final "
                         "Linear readout to separate Φ from: pass features= (the name of "
                         "the submodule whose output is Φ, or a callable module -> Φ).")
    name, readout_input = ran[-1]
    parent, child = _named_parent(net, name)
    readout = (name, getattr(parent, child))
    setattr(parent, child, nn.Identity())
    return net, readout, readout_input


def _named_phi(net, features, sample):
    """Φ given by ``features``, a submodule name or a callable ``net -> Φ``."""
    if isinstance(features, str):
        try:
            phi = net.get_submodule(features)
        except AttributeError:
            children = [n for n, _ in net.named_children()]
            raise ValueError(f"features={features!r} is not a submodule of "
                             f"{type(net).__name__}; its children are {children}.") from None
        if isinstance(phi, nn.Linear) and _last_linear(net, sample) == features:
            raise ValueError(f"features={features!r} names the network's final Linear layer, "
                             "its readout: Φ is what comes before it. Leave features=None (Φ "
                             "is then everything before the readout), or name the submodule "
                             "whose output the readout takes.")
        return phi
    if callable(features):
        phi = features(net)
        if not isinstance(phi, nn.Module):
            raise TypeError(f"features (a callable) must return the Φ module, an nn.Module; "
                            f"it returned {type(phi).__name__}.")
        return phi
    raise _features_type_error(features)


def _last_linear(net, sample):
    """The name of the last Linear layer ``net`` runs on ``sample``; None if it fails."""
    ran = []
    try:
        _run_one_sample(net, sample, linear_inputs=ran)
    except Exception:  # noqa: BLE001 - the network's own failure is reported by the caller
        return None
    return ran[-1][0] if ran else None


def _features_type_error(features):
    return TypeError(f"features must be None, a submodule name or a callable module -> Φ; "
                     f"got {type(features).__name__}.")


def _sample_error(what, input_shape, exc):
    return ValueError(f"{what} failed on one sample of shape {tuple(input_shape)}: "
                      f"{type(exc).__name__}: {exc}")


class FeatureNetwork(BackboneMixin, nn.Module):
    """Any network as ``head(features(x).flatten(1))``: Φ and a linear readout.

    ``features`` is Φ (after the optional preprocessing steps ``augment``, ``resize``,
    ``normalize``, which run first inside it, so that inputs and attacks stay in pixel
    units); Φ's own module is ``features.phi``. ``head`` is ``Linear(d, n_classes)``.
    Build one from any network with :meth:`build`.

    Parameters
    ----------
    features : torch.nn.Module
        Φ, mapping a batch to ``(n, ...)`` features (flattened to ``(n, d)``).
    head : torch.nn.Module
        The readout, e.g. ``nn.Linear(d, n_classes)``.

    Attributes
    ----------
    load_report_ : dict or None
        After :meth:`build` loaded pretrained weights: ``{"loaded": [...], "new": [...],
        "ignored": [...]}`` parameter and buffer names.
    replaced_ : list of str
        Modules of the network :meth:`build` replaced (the readout, an adapted stem).

    Examples
    --------
    >>> import torch
    >>> import torch.nn as nn
    >>> from skspectral.models import FeatureNetwork
    >>> cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
    ...                     nn.Flatten(), nn.Linear(16, 10))
    >>> net = FeatureNetwork.build(cnn, n_classes=3, input_shape=(1, 8, 8))
    >>> net.head, net(torch.zeros(5, 1, 8, 8)).shape
    (Linear(in_features=16, out_features=3, bias=True), torch.Size([5, 3]))
    """

    def __init__(self, features, head):
        super().__init__()
        self.features = features
        self.head = head
        self.backbone_frozen = False
        self.load_report_ = None
        self.replaced_ = []

    def forward(self, x):
        """Class scores ``head(features(x).flatten(1))``.

        Parameters
        ----------
        x : torch.Tensor of shape (n, ...)
            A batch as the network takes it.

        Returns
        -------
        torch.Tensor of shape (n, n_classes)
            The head's outputs.

        Examples
        --------
        >>> import torch
        >>> import torch.nn as nn
        >>> from skspectral.models import FeatureNetwork
        >>> net = FeatureNetwork(nn.Conv1d(1, 2, 3), nn.Linear(4, 3))
        >>> net(torch.zeros(5, 1, 4)).shape
        torch.Size([5, 3])
        """
        return self.head(self.features(x).flatten(1))

    @classmethod
    def build(cls, network, n_classes, input_shape, features=None, stem=None,
              normalize=None, augment=False, resize=None, pretrained_weights=None,
              freeze_backbone=False, **network_params):
        """A :class:`FeatureNetwork` from any network: build, adapt, cut at Φ, new head.

        Parameters
        ----------
        network : type, torch.nn.Module or str
            See :func:`build_network`.
        n_classes : int
            Outputs of the new head.
        input_shape : tuple
            Shape of one input sample, e.g. ``(3, 32, 32)``.
        features : None, str or callable, default=None
            Where Φ ends; see :func:`feature_map`.
        stem : {"small"} or None, default=None
            ``"small"``: adapt a torchvision family's stem to small images
            (:func:`small_stem_`). For torchvision families the first convolution is also
            rebuilt when the images have another number of channels than it takes.
        normalize : tuple (mean, std), optional
            Per-channel statistics, applied first in ``features``.
        augment : bool, default=False
            Random crop and flip per sample in training mode, first in ``features``.
        resize : tuple (H, W), optional
            Resize inputs first in ``features`` (Φ then sees this size).
        pretrained_weights : dict or path, optional
            A state dict (or a file saved with ``torch.save``) in the network's own key
            layout (torchvision's, for a torchvision model), loaded before the stem is
            adapted and Φ is cut; or in this module's layout (``features.``, ``head.``),
            loaded after. Every tensor of Φ must fit; the head is loaded where it fits.
        freeze_backbone : bool, default=False
            See :meth:`freeze_backbone_`.
        **network_params :
            Constructor parameters of ``network`` (see :func:`build_network`).

        Returns
        -------
        FeatureNetwork
            Φ at ``features.phi`` (after any preprocessing), the new head at ``head``.

        Examples
        --------
        >>> from skspectral.models import FeatureNetwork
        >>> net = FeatureNetwork.build("resnet18", n_classes=10, input_shape=(1, 32, 32),
        ...                            stem="small")
        >>> net.replaced_, net.features.phi.conv1.stride, net.head
        (['conv1', 'maxpool', 'fc'], (1, 1), Linear(in_features=512, out_features=10, bias=True))
        """
        net = build_network(network, network_params)
        state = None if pretrained_weights is None else read_state(pretrained_weights)
        own_layout = state is not None and all(k.startswith(("features.", "head."))
                                               for k in state)
        if state is not None and not own_layout:
            _load_whole(net, state)
        sources = {id(t): k for k, t in net.state_dict(keep_vars=True).items()}
        stems = []
        if _stem(net) is not None or stem is not None:
            stems = small_stem_(net, in_channels=input_shape[0], small=stem == "small")
        replaced = list(stems)
        phi_shape = tuple(input_shape) if resize is None else (input_shape[0], *resize)
        phi, d, readout = _cut(net, phi_shape, features)
        param = next(phi.parameters())  # feature_map checked that Φ has a weight
        head = nn.Linear(d, int(n_classes), dtype=param.dtype, device=param.device)
        if readout is not None:
            replaced.append(readout[0])
            if state is not None and not own_layout and (
                    readout[1].weight.shape == head.weight.shape
                    and (readout[1].bias is None) == (head.bias is None)):
                head = readout[1]  # the pretrained readout fits the task's classes
        model = cls(nn.Sequential(OrderedDict(**preprocessing(augment, resize, normalize),
                                              phi=phi)), head)
        model.replaced_ = replaced
        if own_layout:
            model.load_report_ = load_backbone_state(
                model, state, "the network, features, stem and input channels must match "
                "the source's")
        elif state is not None:
            model.load_report_ = _report(model, state, sources,
                                         tuple(name + "." for name in stems))
        model.freeze_backbone_(freeze_backbone)
        return model


def _load_whole(net, state):
    """Load a state dict in the network's own layout; every tensor must fit."""
    own = net.state_dict()
    require_fit(own, state, list(own), f"{type(net).__name__} as built (its parameters must "
                "match the source's)")
    net.load_state_dict({k: state[k] for k in own})


def _report(model, state, sources, stems):
    """``load_report_`` in the model's key layout, from the network's keys each tensor of
    the model came from (those of an adapted stem are new)."""
    loaded, new, used = [], [], set()
    for key, tensor in model.state_dict(keep_vars=True).items():
        source = sources.get(id(tensor))
        if source is None or source.startswith(stems):
            new.append(key)
        else:
            loaded.append(key)
            used.add(source)
    return {"loaded": loaded, "new": sorted(new), "ignored": sorted(set(state) - used)}
