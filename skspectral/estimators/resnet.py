"""SpectralResNetClassifier: a torchvision ResNet trained with a spectral penalty."""

from ..models import ResNet
from ._classifier import SpectralClassifierBase
from ._finetune import FINETUNE_CONSTRAINTS, FineTuningMixin
from ._images import IMAGE_CONSTRAINTS, ImageInputMixin

__all__ = ["SpectralResNetClassifier"]


class SpectralResNetClassifier(FineTuningMixin, ImageInputMixin, SpectralClassifierBase):
    """ResNet image classifier with spectral regularization of its convolutions.

    rep-spectral (``regularizer="rep"``) penalizes the operator norm of every convolution up
    to the pooled features (the stem, all block convolutions and the 1x1 shortcut
    convolutions: 20 in ResNet18, 53 in ResNet50), never BatchNorm or the final Linear. Each
    convolution's operator is taken at the input size it sees during training (or at
    ``input_size``), by warm-started power iteration on the operator itself.

    Parameters
    ----------
    arch : {"resnet18", "resnet34", "resnet50"}, default="resnet18"
        The torchvision ResNet architecture of the backbone Φ.
    stem : {"small", "imagenet"}, default="small"
        ``"small"``: 3x3 stride-1 stem, no max-pool (the CIFAR variant of the paper);
        ``"imagenet"``: torchvision's 7x7 stride-2 stem and max-pool, for large images.
    padding_mode : {"zeros", "circular"}, default="zeros"
        Padding of every convolution. ``"circular"`` is what the authors trained with (the
        FFT operator norm is then exact).
    pretrained_weights : estimator, dict, str, path-like, WeightsEnum or None, default=None
        None trains from PyTorch's initialization. Otherwise, the representation to start
        from (fine-tuning, transfer learning):

        - a fitted skspectral estimator with a ResNet backbone
          (``SpectralResNetClassifier``, ``SpectralBarlowTwins``): its backbone Φ, and its
          head where the number of classes matches;
        - a state dict, or the path of one saved with ``torch.save`` (torchvision's key
          layout or skspectral's);
        - a torchvision weights name for ``arch`` (``"IMAGENET1K_V1"``, ``"DEFAULT"``) or a
          ``torchvision.models.*_Weights`` member, resolved through torchvision's weights
          API at ``fit``, which downloads them where the machine has network (use
          ``stem="imagenet"``, the stem they were trained with).

        Every backbone tensor must fit (a missing one or another shape is a ValueError,
        never a silent skip); the head is new unless its shape fits. ``module_.load_report_``
        lists what was loaded, what is new and what was ignored.
    freeze_backbone : bool, default=False
        Train the head alone: no gradient reaches Φ and its BatchNorm layers stay in
        evaluation mode, so the backbone is bit-identical after ``fit`` (a linear probe).
        Needs ``regularizer`` None or ``"head"``.
    backbone_lr : float or None, default=None
        Learning rate of Φ's parameters (the paper's fine-tuning: 0.002 with ``lr=0.01`` for
        the new head); None uses ``lr`` for all.
    head_warmup : int, default=0
        Epochs at the start during which only the head trains (the backbone frozen as with
        ``freeze_backbone``), before everything trains.
    bss : float, default=0.0
        Weight η of Batch Spectral Shrinkage (Chen et al. 2019) on the features Φ of every
        training batch: η times the smallest squared singular value of the batch feature
        matrix (k = 1; routed ``callbacks__bss__k`` changes it). 0 is off.
    l2sp : float or tuple (alpha, beta), default=0.0
        L2-SP (Li et al. 2018): ``alpha/2 |w - w0|^2`` over Φ's parameters, ``w0`` the
        pretrained weights, plus ``beta/2 |w|^2`` over the head's (beta 0 for a float). 0 is
        off.
    lr_schedule : {"constant", "cosine"}, default="constant"
        ``"cosine"`` anneals every learning rate to 0 over ``max_epochs`` (skorch's
        ``LRScheduler`` with ``CosineAnnealingLR``; the paper's fine-tuning schedule).
    resize : tuple (H, W) or None, default=None
        Resize images to this size inside the network, before Φ's first convolution (e.g.
        32 -> 224 px for an ImageNet backbone): inputs, and the distances attacks measure,
        stay in the user's pixel space, and the penalized convolutions' operator norms are
        taken at the size they see.
    normalize : tuple (mean, std) or None, default=None
        Per-channel statistics applied inside the network (inputs stay in pixel units);
        None applies none.
    augment : bool, default=False
        Random crop (zero padding 4) and horizontal flip per sample while training.
    image_shape : tuple (C, H, W) or None, default=None
        Shape of one image when X is given as flat rows (n, C*H*W). Without it, flat rows
        of a square length are square one-channel images (784 -> 1x28x28), others 1x1xd.
    input_size : tuple or None, default=None
        ``(H, W)`` or ``(C, H, W)`` at which the penalty takes the operator norms (paper
        App. B.3 recommends the test resolution); the training images' size when None.
    regularizer : {"rep", "all", "head"}, list of str or None, default="rep"
        Layers penalized: ``"rep"`` every convolution of Φ (rep-spectral), ``"all"`` those
        and the final Linear, ``"head"`` the final Linear only, None none, or explicit
        module names such as ``["features.conv1"]``.
    gamma : float, default=2e-2
        Penalty strength, >= 0, of ``(gamma / 2) * sum_l sigma_max(W_l)^2``: the paper's
        ResNet value 0.01 in the authors' convention (``gamma * sum sigma^2``).
    burnin : int or float, default=0.8
        Penalty-free epochs at the start: an int number of epochs in ``[0, max_epochs]``,
        or a float in ``[0, 1)`` as a fraction of ``max_epochs`` (the paper: the last 20%
        of training is penalized).
    update_every : int, default=24
        The singular vectors are refreshed and the penalty gradient applied every
        ``update_every`` optimizer steps, which amortizes the power iteration's cost.
    n_power_iterations : int, default=1
        Warm-started power-iteration steps per refresh.
    lr : float, default=0.01
        Learning rate of the optimizer (of the head, with ``backbone_lr``).
    momentum : float or None, default=None
        Momentum in [0, 1) of an optimizer that takes one (SGD: 0.9 when None); given with
        one that takes none (Adam), it is a ValueError at ``fit``.
    weight_decay : float, default=1e-4
        L2 weight decay of the optimizer.
    batch_size : int, default=1024
        Mini-batch size for training; inference (``predict``, ``transform``, ``score``)
        reads ``max(batch_size, 1024)`` images a batch unless ``iterator_valid__batch_size``
        is routed.
    max_epochs : int, default=200
        Epochs trained by ``fit``.
    optimizer : {"sgd", "adam", "adamw"} or torch.optim.Optimizer subclass, default="sgd"
        The optimizer, by name or class; its further arguments are routed as
        ``optimizer__<name>``.
    precision : {"32", "bf16", "fp16"}, default="32"
        Autocast dtype of the forward pass in training (the penalty runs in fp32).
    channels_last : bool, default=False
        Keep the module and the batches in channels-last memory format (faster
        convolutions on recent GPUs; the same results).
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available; the resolved device is ``device_``.
    distributed : bool, default=False
        Data-parallel training, one process per device, over an initialized
        torch.distributed process group: every rank calls ``fit`` with the same data and
        trains on its share of each global batch (see docs/guide.md). BatchNorm uses each
        rank's batch statistics; the running statistics are rank 0's.
    random_state : int, RandomState instance or None, default=None
        Seeds initialization, data order, augmentation and the power iteration's start:
        the same integer gives the same model on the CPU.
    verbose : int, default=0
        0 silent, 1 a progress bar over epochs, 2 also skorch's per-epoch table.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Extra skorch callbacks, run after the estimator's own.
    checkpoint_dir : str, path-like or None, default=None
        Folder where ``fit`` writes its whole training state every ``checkpoint_every``
        epochs; a later ``fit`` of the same configuration resumes from the newest good
        checkpoint (docs/checkpoints.md). None: no checkpoints.
    checkpoint_every : int, default=1
        Epochs between checkpoints (with ``checkpoint_dir``).
    **kwargs : dict
        Routed skorch parameters ``<prefix>__<name>`` (``optimizer__nesterov=True``,
        ``iterator_train__num_workers=4``, ...), passed unchanged to the skorch net.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen at ``fit``, in the order of ``predict_proba``'s columns.
    n_features_in_ : int
        Values per image (C * H * W).
    net_ : skspectral.training.SpectralNet
        The fitted skorch net.
    history_ : skorch.History
        Per-epoch records, including ``spectral_norms`` and ``spectral_penalty``.
    spectral_norms_ : dict of str to float
        Operator norm of every convolution (at its input size) and of the head.
    regularized_layers_ : list of str
        Layers the penalty covered (empty when ``regularizer=None``).
    device_ : str
        Device the model lives on.
    n_iter_ : int
        Epochs trained in total.
    input_shapes_ : dict of str to tuple
        ``{convolution: (c_in, H, W)}``, the input size each is regularized at.
    module_ : skspectral.models.ResNet
        The fitted torch module (``features`` is Φ, ``head`` the final Linear); after
        loading ``pretrained_weights``, ``module_.load_report_`` lists what was loaded, what
        is new and what was ignored.
    input_shape_ : tuple (C, H, W)
        Shape of one training image.

    See Also
    --------
    skspectral.SpectralMLPClassifier : The same penalty on an MLP, for vectors.
    skspectral.SpectralBarlowTwins : Self-supervised pretraining of the same backbone.

    Examples
    --------
    A tiny fit on 8x8 digits (images ``(n, 1, 8, 8)``; flat rows of 64 pixels work too):

    >>> from sklearn.datasets import load_digits
    >>> from skspectral import SpectralResNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> images = (X[:32] / 16).reshape(-1, 1, 8, 8)
    >>> clf = SpectralResNetClassifier(max_epochs=1, batch_size=32, burnin=0,
    ...                                random_state=0).fit(images, y[:32])
    >>> clf.input_shape_, clf.predict_proba(images[:3]).shape
    ((1, 8, 8), (3, 10))
    >>> len(clf.regularized_layers_), clf.regularized_layers_[0]  # the convolutions of Φ
    (20, 'features.conv1')
    >>> clf.input_shapes_["features.layer4.0.conv1"]  # (c_in, H, W) its norm is taken at
    (256, 2, 2)
    >>> clf.transform(images[:2]).shape
    (2, 512)
    """

    _module_class = ResNet
    _parameter_constraints = {
        **SpectralClassifierBase._parameter_constraints,
        **IMAGE_CONSTRAINTS,
        "augment": ResNet._parameter_constraints["augment"],
        **FINETUNE_CONSTRAINTS,
    }

    def __init__(self, arch="resnet18", stem="small", padding_mode="zeros",
                 pretrained_weights=None, freeze_backbone=False, backbone_lr=None,
                 head_warmup=0, bss=0.0, l2sp=0.0, lr_schedule="constant", resize=None,
                 normalize=None, augment=False, image_shape=None, input_size=None,
                 regularizer="rep", gamma=2e-2, burnin=0.8, update_every=24,
                 n_power_iterations=1, lr=0.01, momentum=None, weight_decay=1e-4,
                 batch_size=1024, max_epochs=200, optimizer="sgd", precision="32",
                 channels_last=False, device="auto", distributed=False, random_state=None,
                 verbose=0, callbacks=None, checkpoint_dir=None,
                 checkpoint_every=1, **kwargs):
        self._store_params(locals())

    def _check_module_params(self):
        self._check_image_params()
        self._check_finetune_params()

    def _torchvision_model_name(self):
        return self.arch

    def _module_params(self, n_features):
        return {"arch": self.arch, "n_classes": len(self.classes_),
                "in_channels": self.input_shape_[0],
                "stem": self.stem, "padding_mode": self.padding_mode,
                "normalize": self.normalize, "augment": self.augment,
                "pretrained_weights": self._pretrained_state(), "resize": self.resize,
                "freeze_backbone": self.freeze_backbone}
