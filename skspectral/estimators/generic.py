"""SpectralClassifier: rep-spectral on any PyTorch network or torchvision classification model."""

import torch.nn as nn
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted

from .._params import SubclassOf
from ..models import FeatureNetwork, check_network
from ._classifier import SpectralClassifierBase
from ._finetune import FINETUNE_CONSTRAINTS, FineTuningMixin
from ._images import IMAGE_CONSTRAINTS, ImageInputMixin

__all__ = ["NETWORK_CONSTRAINTS", "SpectralClassifier"]

#: Constraints of ``module``, ``features`` and ``stem``, shared by the generic estimators.
NETWORK_CONSTRAINTS = {
    "module": [str, nn.Module, SubclassOf(nn.Module)],
    "features": [str, callable, None],
    "stem": [StrOptions({"small"}), None],
}


def _network_params(estimator):
    """An estimator's routed ``module__*`` parameters, without the prefix: those of the
    network it builds."""
    return {k[len("module__"):]: v for k, v in estimator._routed_params().items()
            if k.startswith("module__")}


def _unpenalized_layers(module, penalized):
    """``{name: (type name, parameter names)}`` of Φ's modules with parameters of their own
    that the penalty does not cover (normalization layers, attention's in-projection, class
    tokens, positional embeddings, unpenalized Linear/Conv layers).

    Parameters
    ----------
    module : torch.nn.Module
        A network with a ``features`` submodule (Φ).
    penalized : list of str
        Names of the penalized layers.

    Returns
    -------
    dict
    """
    penalized = set(penalized)
    found = {}
    for name, m in module.features.named_modules(prefix="features"):
        own = [n for n, _ in m.named_parameters(recurse=False)]
        if own and name not in penalized:
            found[name] = (type(m).__name__, tuple(own))
    return found


class SpectralClassifier(FineTuningMixin, ImageInputMixin, SpectralClassifierBase):
    """Image classifier on any network, with rep-spectral on the layers up to its features.

    The network is given as skorch users expect (``module=``, with routed ``module__*``
    parameters): a PyTorch module class or instance, or a torchvision classification model
    by name. The representation Φ is the part of the network before its final Linear
    readout (or the submodule ``features`` names, or what a callable returns), and the
    readout is replaced by a new ``Linear(d, n_classes)`` for the task's classes. The
    fitted module is a :class:`~skspectral.models.FeatureNetwork` (``features`` is Φ,
    ``head`` the readout), so ``transform``, the attacks, :class:`~skspectral.RobustnessScorer`,
    :func:`~skspectral.volume_element`, Pipelines with a linear classifier (the fused fast
    path) and transfer through ``pretrained_weights`` work as with the paper's models.

    rep-spectral (``regularizer="rep"``) penalizes the operator norm of every Linear and
    Conv1d/2d/3d layer in Φ, grouped, depthwise, strided and dilated convolutions included,
    each at the input size it sees in training (or at ``input_size``). Normalization
    layers, attention's in-projection and learned tokens are not linear maps with a fixed
    operator norm; they stay unpenalized and ``unpenalized_layers_`` lists them (see
    docs/any_network.md for what the penalty bounds on such architectures).

    Parameters
    ----------
    module : type, torch.nn.Module or str
        The network: an ``nn.Module`` subclass (built with the routed ``module__*``
        parameters, e.g. ``module__width=64``; parameters its constructor does not accept
        are a ValueError naming them), an instance (deep-copied at ``fit``, never modified;
        takes no ``module__*`` parameters) or a torchvision classification model name
        (``"wide_resnet50_2"``, ``"convnext_tiny"``, ``"vit_b_16"`` with
        ``module__image_size=32, module__patch_size=4``, ...; see
        ``torchvision.models.list_models(module=torchvision.models)``), built with
        ``weights=None``. The network takes a batch of images ``(n, C, H, W)``.
    features : None, str or callable, default=None
        Where Φ ends. None: everything before the final Linear readout (the last
        ``nn.Linear`` to run in the forward pass, e.g. torchvision's ``fc``,
        ``classifier[-1]`` or ``heads.head``), which is replaced. A submodule name (as in
        ``named_modules()``): that submodule maps the input to Φ. A callable
        ``network -> Φ-module``. Φ's output is flattened to ``(n, d)``; an output that is
        not a tensor, a name that does not exist and a Φ without any Linear or convolution
        are errors at ``fit``.
    stem : {"small"} or None, default=None
        ``"small"`` adapts a torchvision family's stem to 32 x 32 images (ResNet and wide
        ResNet: a 3x3 stride-1 first convolution and no max-pool; ConvNeXt: a 3x3 stride-1
        stem; EfficientNet, MobileNet, RegNet: a stride-1 first convolution); vision
        transformers take ``module__image_size`` and ``module__patch_size`` instead. For
        torchvision families the first convolution is rebuilt for the images' channels
        when they differ from its own.
    pretrained_weights : estimator, dict, str, path-like or torchvision WeightsEnum, default=None
        The weights to start from: a fitted ``SpectralClassifier`` (its Φ, and its head
        where the number of classes matches); a state dict or the path of one saved with
        ``torch.save``, in the network's own key layout (torchvision's for a torchvision
        model) or in the fitted module's (``features.``, ``head.``); or a torchvision
        weights name (``"IMAGENET1K_V1"``, ``"DEFAULT"``) or ``WeightsEnum`` member for a
        torchvision ``module``, resolved with ``torchvision.models.get_model_weights`` at
        ``fit`` (which downloads them where the machine has network). Every tensor of Φ
        must fit; ``module_.load_report_`` lists what was loaded, what is new (an adapted
        stem, the head) and what was ignored.
    freeze_backbone : bool, default=False
        Train the head alone (Φ frozen, BatchNorm in evaluation mode); needs
        ``regularizer`` None or ``"head"``.
    backbone_lr : float, default=None
        Learning rate of Φ's parameters; None uses ``lr`` for all.
    head_warmup : int, default=0
        Epochs at the start during which only the head trains.
    bss : float, default=0.0
        Weight of Batch Spectral Shrinkage on the features of every training batch; 0 is
        off.
    l2sp : float or tuple (alpha, beta), default=0.0
        L2-SP towards the pretrained weights (``alpha``) and plain L2 on the head
        (``beta``); 0 is off.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` anneals every learning rate to 0 over ``max_epochs``.
    resize : tuple (H, W), default=None
        Resize images to this size inside the network, before Φ (inputs and attack
        distances stay in the user's pixel space).
    normalize : tuple (mean, std), default=None
        Per-channel statistics applied inside the network.
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample while training.
    image_shape : tuple (C, H, W), default=None
        Shape of one image when X is given as flat rows (n, C*H*W). Without it, flat rows
        of a square length are square one-channel images, others 1 x 1 x d.
    input_size : tuple, default=None
        ``(H, W)`` or ``(C, H, W)`` at which the penalty takes the convolutions' operator
        norms; the training images' size when None.
    regularizer : {"rep", "all", "head"}, None or list of str, default="rep"
        ``"rep"``: every Linear and convolution of Φ; ``"all"``: those and the head;
        ``"head"``: the head; None: no penalty; or explicit module names of the fitted
        module (``"features.phi.conv1"``, ...).
    gamma : float, default=2e-2
        Strength of the penalty ``(gamma / 2) * sum sigma^2``.
    burnin : int or float, default=0.8
        Epochs (int) or fraction of ``max_epochs`` (float) before the penalty starts.
    update_every : int, default=24
        Steps between penalty updates (k).
    n_power_iterations : int, default=1
        Power-iteration steps per penalty update.
    lr : float, default=0.01
        Learning rate.
    momentum : float or None, default=None
        SGD's momentum, 0.9 when None.
    weight_decay : float, default=1e-4
        The optimizer's weight decay.
    batch_size : int, default=1024
        Images per training step; inference reads ``max(batch_size, 1024)`` a batch unless
        ``iterator_valid__batch_size`` is routed.
    max_epochs : int, default=200
        Epochs of ``fit``.
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
        The optimizer.
    precision : {"32", "bf16", "fp16"}, default="32"
        Autocast dtype of the forward pass in training (the penalty runs in fp32).
    channels_last : bool, default=False
        Channels-last memory format for the module and image batches.
    device : str or torch.device, default="auto"
        ``"auto"`` picks CUDA when available.
    distributed : bool, default=False
        Data-parallel training over an initialized torch.distributed process group.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization and data order.
    verbose : int, default=0
        1: a progress bar; 2: skorch's epoch table.
    callbacks : list, default=None
        Extra skorch callbacks.
    checkpoint_dir : str or path-like, default=None
        Folder of resumable checkpoints.
    checkpoint_every : int, default=1
        Epochs between checkpoints.
    **kwargs :
        Routed parameters: ``module__*`` to the network's constructor, and skorch's
        (``optimizer__nesterov=True``, ...).

    Attributes
    ----------
    classes_ : ndarray
        The class labels.
    n_features_in_ : int
        Values per image.
    input_shape_ : tuple (C, H, W)
        Shape of one training image.
    module_ : skspectral.models.FeatureNetwork
        The fitted torch module: ``features`` (Φ, with the network's own module at
        ``features.phi``) and ``head``.
    net_ : skspectral.training.SpectralNet
        The skorch net.
    history_ : skorch.History
        Per-epoch losses and spectral norms.
    spectral_norms_ : dict
        Operator norm of every Linear and convolution after training.
    regularized_layers_ : list of str
        The penalized layers.
    unpenalized_layers_ : dict
        ``{name: (type name, parameter names)}`` of Φ's modules with parameters that the
        penalty does not cover.
    device_ : str
        The resolved device.
    n_iter_ : int
        Epochs trained.

    Examples
    --------
    >>> import torch.nn as nn
    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralClassifier
    >>> class CNN(nn.Module):
    ...     def __init__(self, width=8):
    ...         super().__init__()
    ...         self.body = nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
    ...                                   nn.Conv2d(width, width, 3, stride=2, groups=width),
    ...                                   nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    ...         self.fc = nn.Linear(width, 10)
    ...     def forward(self, x):
    ...         return self.fc(self.body(x))
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SpectralClassifier(module=CNN, module__width=4, max_epochs=2, batch_size=256,
    ...                          burnin=0, random_state=0).fit(X.reshape(-1, 1, 8, 8) / 16, y)
    >>> clf.regularized_layers_
    ['features.phi.body.0', 'features.phi.body.2']
    >>> clf.transform(X[:3].reshape(-1, 1, 8, 8) / 16).shape
    (3, 4)
    """

    _module_class = FeatureNetwork.build
    _parameter_constraints = {
        **SpectralClassifierBase._parameter_constraints,
        **IMAGE_CONSTRAINTS,
        **FINETUNE_CONSTRAINTS,
        **NETWORK_CONSTRAINTS,
        "augment": ["boolean"],
    }

    def __init__(self, module, features=None, stem=None, pretrained_weights=None,
                 freeze_backbone=False, backbone_lr=None, head_warmup=0, bss=0.0, l2sp=0.0,
                 lr_schedule="constant", resize=None, normalize=None, augment=False,
                 image_shape=None, input_size=None, regularizer="rep", gamma=2e-2, burnin=0.8,
                 update_every=24, n_power_iterations=1, lr=0.01, momentum=None,
                 weight_decay=1e-4, batch_size=1024, max_epochs=200, optimizer="sgd",
                 precision="32", channels_last=False, device="auto", distributed=False,
                 random_state=None, verbose=0, callbacks=None, checkpoint_dir=None,
                 checkpoint_every=1, **kwargs):
        self._store_params(locals())

    def _check_module_params(self):
        self._check_image_params()
        self._check_finetune_params()
        check_network(self.module, _network_params(self), self.features)

    def _torchvision_model_name(self):
        return self.module if isinstance(self.module, str) else None

    def _module_params(self, n_features):
        return {"network": self.module, "n_classes": len(self.classes_),
                "input_shape": self.input_shape_, "features": self.features,
                "stem": self.stem, "normalize": self.normalize, "augment": self.augment,
                "resize": self.resize, "pretrained_weights": self._pretrained_state(),
                "freeze_backbone": self.freeze_backbone}

    @property
    def unpenalized_layers_(self):
        """``{name: (type name, parameter names)}``: Φ's modules with parameters of their
        own that the penalty does not cover (normalization, attention's in-projection,
        class tokens, positional embeddings, and Linear/convolutions outside the scope)."""
        check_is_fitted(self)
        return _unpenalized_layers(self.net_.module_, self.regularized_layers_)
