"""The paper's pictures from fitted estimators and attack results (matplotlib, optional).

Every function draws on a given Axes (a new one when ``ax`` is None) and returns it (or the
Figure, for a grid), and never calls ``show``: save with ``ax.figure.savefig(...)``. Needs the
``plot`` extra (``pip install "skspectral[plot]"``).
"""

import math
from collections.abc import Mapping
from numbers import Integral, Real

import numpy as np

from ._checks import check_array, check_labels, check_numbers
from ._params import StrictInterval, validate
from .attacks import AttackResult
from .metrics import volume_element
from .report import RobustnessReport

__all__ = [
    "plot_adversarial_examples",
    "plot_decision_regions",
    "plot_distance_density",
    "plot_fraction_above",
    "plot_robustness_report",
    "plot_seed_boxes",
    "plot_spectral_norms",
    "plot_volume_element",
]


def _matplotlib():
    """matplotlib with ``pyplot`` and ``colors`` loaded; every function imports it through
    here, so that without matplotlib the first error names the ``plot`` extra."""
    try:
        import matplotlib.colors
        import matplotlib.pyplot
    except ImportError as exc:
        raise ImportError("skspectral.plotting needs matplotlib, the 'plot' extra: pip install "
                          "'skspectral[plot]'.") from exc
    return matplotlib


def _pyplot():
    return _matplotlib().pyplot


def _axes(ax):
    return _pyplot().subplots()[1] if ax is None else ax


def _grid(bounds, resolution, owner):
    validate(owner, {"resolution": [StrictInterval(Integral, 2, None, closed="left")]},
             {"resolution": resolution})
    (x0, x1), (y0, y1) = _check_bounds(bounds)
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)


def _check_bounds(bounds):
    """``((x_min, x_max), (y_min, y_max))`` of finite numbers, each min below its max."""
    try:
        box = check_numbers(bounds, "bounds", allow_inf=False)
    except TypeError:
        box = None
    if box is None or box.shape != (2, 2) or not (box[:, 0] < box[:, 1]).all():
        raise ValueError(f"bounds must be ((x_min, x_max), (y_min, y_max)) of finite numbers "
                         f"with each min < max, got {bounds!r}.")
    return box


def _results(results):
    """``{label: distances}`` of a dict of attack results or distance arrays."""
    if not isinstance(results, Mapping):
        raise TypeError(f"results must be a dict {{label: AttackResult or distances}}, got "
                        f"{type(results).__name__}.")
    return {label: _distances(r, f"results[{label!r}]") for label, r in results.items()}


def _distances(result, name="result"):
    """Per-sample distances of correctly classified samples (finite, > 0); NaN refused."""
    d = np.ravel(check_numbers(result.distances if isinstance(result, AttackResult)
                               else result, name, low=0.0))
    return d[np.isfinite(d) & (d > 0)]


def plot_decision_regions(estimator, X, y, bounds=None, resolution=200, ax=None):
    """Decision regions of a classifier of 2-D inputs, with its training points (Fig. 3a).

    Parameters
    ----------
    estimator : fitted classifier of 2-D inputs
        Any classifier with ``predict``; its predictions on a grid colour the regions.
    X : array-like of shape (n_samples, 2)
        Points drawn over the regions (the training points).
    y : array-like of shape (n_samples,)
        Labels of ``X``; one scatter and one region colour per class.
    bounds : ((x_min, x_max), (y_min, y_max)), default=None
        The plotted box; X's range padded by 10% when None.
    resolution : int, default=200
        Grid points per axis.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One filled contour set of the predicted class codes, one scatter per class.

    Raises
    ------
    ValueError
        If ``X`` is not of shape (n_samples, 2).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skspectral.estimators import SpectralMLPClassifier
    >>> from skspectral.plotting import plot_decision_regions
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (40, 2)).astype(np.float32)
    >>> y = (X[:, 0] * X[:, 1] > 0).astype(int)  # XOR
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(8,), max_epochs=2,
    ...                             random_state=0).fit(X, y)
    >>> ax = plot_decision_regions(clf, X, y, resolution=20)
    >>> len(ax.collections) >= 3, ax.get_legend().get_title().get_text()
    (True, 'class')
    """
    X = check_array(X, "X").astype(np.float32, copy=False)
    if X.ndim != 2 or X.shape[1] != 2 or not len(X):
        raise ValueError(f"plot_decision_regions needs X of shape (n_samples, 2), got {X.shape}.")
    y = check_labels(y, len(X))
    bounds = _bounds(X) if bounds is None else bounds
    xx, yy, grid = _grid(bounds, resolution, "plot_decision_regions")
    ax = _axes(ax)
    classes = np.unique(y)
    codes = np.searchsorted(classes, estimator.predict(grid)).reshape(xx.shape)
    ax.contourf(xx, yy, codes, levels=np.arange(len(classes) + 1) - 0.5, alpha=0.3,
                cmap="coolwarm")
    for label in classes:
        ax.scatter(*X[y == label].T, s=12, label=str(label), edgecolors="k", linewidths=0.3)
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.legend(title="class", loc="best")
    return ax


def _bounds(X):
    low, high = X.min(axis=0), X.max(axis=0)
    pad = 0.1 * np.maximum(high - low, 1e-6)
    return ((low[0] - pad[0], high[0] + pad[0]), (low[1] - pad[1], high[1] + pad[1]))


def plot_volume_element(model, bounds, resolution=100, ax=None, vmin=None, vmax=None):
    """The feature map's volume element over a 2-D grid, on a log colour scale (Fig. 3b).

    Parameters
    ----------
    model : fitted skspectral estimator, Pipeline starting with one, or torch.nn.Module
        A model of 2-D inputs whose feature map Φ (``features``) is evaluated, as
        :func:`~skspectral.metrics.volume_element` takes it.
    bounds : ((x_min, x_max), (y_min, y_max))
        The plotted box.
    resolution : int, default=100
        Grid points per axis (``resolution**2`` Jacobians).
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.
    vmin : float, default=None
        Lower end of the colour scale (the grid's smallest positive value when None); give
        the same one to several panels to compare models on one scale.
    vmax : float, default=None
        Upper end of the colour scale (the grid's largest value when None).

    Returns
    -------
    ax : matplotlib.axes.Axes
        One QuadMesh whose array is ``volume_element`` on the grid, with a colour bar.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import torch
    >>> from skspectral.models import MLP
    >>> from skspectral.plotting import plot_volume_element
    >>> _ = torch.manual_seed(0)
    >>> model = MLP(n_features=2, n_classes=2, hidden_layer_sizes=(8,))
    >>> ax = plot_volume_element(model, bounds=((-1, 1), (-1, 1)), resolution=10)
    >>> mesh = ax.collections[0]
    >>> mesh.get_array().shape, bool((mesh.get_array() > 0).all())
    ((10, 10), True)
    >>> len(ax.figure.axes)  # the panel and its colour bar
    2
    """
    LogNorm = _matplotlib().colors.LogNorm
    xx, yy, grid = _grid(bounds, resolution, "plot_volume_element")
    ax = _axes(ax)
    volume = volume_element(model, grid).reshape(xx.shape)
    positive = volume[volume > 0]
    norm = None
    if len(positive) or (vmin is not None and vmax is not None):
        norm = LogNorm(vmin=positive.min() if vmin is None else vmin,
                       vmax=positive.max() if vmax is None else vmax)
    mesh = ax.pcolormesh(xx, yy, volume, norm=norm, shading="auto", cmap="viridis")
    ax.figure.colorbar(mesh, ax=ax, label="volume element √det(JᵀJ)")
    return ax


def plot_distance_density(results, ax=None, bandwidth=None):
    """Kernel density of the per-sample adversarial distances, one curve per model (Fig. 6a).

    Parameters
    ----------
    results : dict of str to AttackResult or array-like
        ``{label: attack result or per-sample distances}``, one curve each. Misclassified
        (0) and failed (inf) samples are left out; a model with fewer than two distinct
        distances gets no curve.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.
    bandwidth : str or float, default=None
        ``bw_method`` of :class:`scipy.stats.gaussian_kde` (Scott's rule when None).

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per model.

    See Also
    --------
    plot_fraction_above : The same distances as a survival curve.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skspectral.plotting import plot_distance_density
    >>> rng = np.random.RandomState(0)
    >>> results = {"unregularized": rng.gamma(4, 0.5, 50), "rep-spectral": rng.gamma(6, 0.5, 50)}
    >>> ax = plot_distance_density(results)
    >>> [line.get_label() for line in ax.get_lines()]
    ['unregularized', 'rep-spectral']
    """
    from scipy.stats import gaussian_kde

    data = _results(results)
    if isinstance(bandwidth, Real) and not isinstance(bandwidth, bool):
        check_numbers(bandwidth, "bandwidth", allow_inf=False)
        if bandwidth <= 0:
            raise ValueError(f"bandwidth must be > 0, got {bandwidth!r}.")
    elif not (bandwidth is None or isinstance(bandwidth, str) or callable(bandwidth)):
        raise TypeError(f"bandwidth must be None, 'scott', 'silverman', a float > 0 or a "
                        f"callable, got {type(bandwidth).__name__}.")
    ax = _axes(ax)
    top = max((d.max() for d in data.values() if len(d)), default=1.0)
    xs = np.linspace(0.0, 1.1 * top, 400)
    for label, d in data.items():
        if len(d) > 1 and np.ptp(d) > 0:
            ax.plot(xs, gaussian_kde(d, bw_method=bandwidth)(xs), label=label)
    ax.set_xlabel("adversarial distance (L2)")
    ax.set_ylabel("density")
    ax.legend()
    return ax


def plot_fraction_above(results, thresholds=None, ax=None):
    """Fraction of samples whose distance exceeds each threshold, one curve per model.

    Parameters
    ----------
    results : dict of str to AttackResult or array-like
        ``{label: attack result or per-sample distances}``, one curve each; misclassified
        (0) and failed (inf) samples are left out.
    thresholds : array-like, default=None
        Distances at which the fraction is evaluated; the paper's 15 thresholds, evenly
        spaced from 0 to the largest distance, when None.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line (with markers) per model, its y data the fractions.

    See Also
    --------
    plot_distance_density : The same distances as densities.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skspectral.plotting import plot_fraction_above
    >>> ax = plot_fraction_above({"model": [0.5, 1.0, 1.5, 2.0]}, thresholds=[0.0, 1.0, 2.0])
    >>> ax.get_lines()[0].get_ydata().tolist()
    [1.0, 0.5, 0.0]
    """
    data = _results(results)
    if thresholds is None:
        top = max((d.max() for d in data.values() if len(d)), default=1.0)
        thresholds = np.linspace(0.0, top, 15)
    thresholds = np.atleast_1d(check_numbers(thresholds, "thresholds"))
    ax = _axes(ax)
    for label, d in data.items():
        fraction = (d[:, None] > thresholds[None, :]).mean(axis=0) if len(d) else \
            np.full(len(thresholds), np.nan)
        ax.plot(thresholds, fraction, marker="o", label=label)
    ax.set_xlabel("threshold")
    ax.set_ylabel("fraction of samples beyond")
    ax.legend()
    return ax


def plot_robustness_report(report, eps=None, ax=None):
    """The robust-accuracy curve ``R(eps) = P(d > eps)`` between its certified and attack bounds.

    Draws, from a :class:`~skspectral.report.RobustnessReport`, the share of samples whose
    certified lower bound exceeds ``eps`` and the shares whose white-box and black-box
    distances exceed it; the true curve lies in the shaded band between the certified curve
    and the best upper bound's. Every sample counts (a misclassified one is never robust).

    Parameters
    ----------
    report : RobustnessReport
        The result of :func:`~skspectral.robustness_report`.
    eps : array-like of float, default=None
        Radii at which the curves are drawn; 200 evenly spaced from 0 to 1.05 times the
        largest finite upper bound when None.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One filled band (``"upper"`` above ``"certified"``) and three lines, in this
        order: the certified, the white-box and the black-box curves.

    Raises
    ------
    TypeError
        If ``report`` is not a RobustnessReport.

    See Also
    --------
    skspectral.robustness_report : Measures the bounds.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skspectral import AttackResult
    >>> from skspectral.plotting import plot_robustness_report
    >>> from skspectral.report import RobustnessReport
    >>> def result(d):
    ...     return AttackResult(np.asarray(d), np.zeros((len(d), 2)), np.ones(len(d), bool),
    ...                         np.ones(len(d), int), 0.0, 1.0)
    >>> report = RobustnessReport(np.arange(2), np.array([0.2, 0.4]), np.array(["", ""]),
    ...                           result([0.5, 1.0]), result([0.6, 1.2]))
    >>> ax = plot_robustness_report(report, eps=[0.0, 0.45, 0.9])
    >>> [line.get_label() for line in ax.get_lines()]
    ['certified lower bound', 'white-box attack', 'black-box attack']
    >>> ax.get_lines()[1].get_ydata().tolist()
    [1.0, 1.0, 0.5]
    """
    if not isinstance(report, RobustnessReport):
        raise TypeError(f"plot_robustness_report needs a RobustnessReport (from "
                        f"robustness_report), got {type(report).__name__}.")
    ax = _axes(ax)
    if eps is None:
        finite = np.concatenate([report.blackbox.distances, report.whitebox.distances])
        finite = finite[np.isfinite(finite)]
        eps = np.linspace(0.0, 1.05 * (finite.max() if len(finite) else 1.0), 200)
    eps = np.asarray(eps, dtype=float)
    curves = report.robust_accuracy(eps)
    certified = not np.isnan(report.lower).all()
    ax.fill_between(eps, curves["certified"], curves["upper"], color="C0", alpha=0.2,
                    label="true R(eps) lies here" if certified
                    else "true R(eps) lies here (no certified bound: from 0)")
    ax.plot(eps, curves["certified"], color="C0", ls="--", label="certified lower bound")
    ax.plot(eps, curves["whitebox"], color="C0", label="white-box attack")
    ax.plot(eps, curves["blackbox"], color="C1", label="black-box attack")
    ax.set_xlabel("eps (L2)")
    ax.set_ylabel("robust accuracy P(d > eps)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend()
    return ax


def plot_seed_boxes(values, ylabel="", ax=None):
    """One box per model over seeds, each seed's value a dot (Figs. 4, 5).

    Parameters
    ----------
    values : dict of str to sequence of float
        ``{label: per-seed values}`` (accuracy, mean distance, ...), one box each, in the
        dict's order.
    ylabel : str, default=""
        Label of the y axis.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One box per model and one scatter per model with its seeds' values.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skspectral.plotting import plot_seed_boxes
    >>> ax = plot_seed_boxes({"none": [0.91, 0.92, 0.90], "rep": [0.90, 0.93, 0.92]},
    ...                      ylabel="accuracy")
    >>> [t.get_text() for t in ax.get_xticklabels()], len(ax.collections)
    (['none', 'rep'], 2)
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"values must be a dict {{label: per-seed values}}, got "
                        f"{type(values).__name__}.")
    if not values:
        raise ValueError("values is empty: give at least one model's per-seed values.")
    labels = list(values)
    # inf is a value (a mean distance over samples where an attack found no point); NaN is not
    data = [np.ravel(check_numbers(values[k], f"values[{k!r}]")) for k in labels]
    empty = [k for k, d in zip(labels, data, strict=True) if not len(d)]
    if empty:
        raise ValueError(f"values[{empty[0]!r}] holds no value.")
    ax = _axes(ax)
    ax.boxplot(data, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), labels)
    jitter = np.random.default_rng(0)
    for i, d in enumerate(data, 1):
        ax.scatter(i + jitter.uniform(-0.08, 0.08, len(d)), d, s=14, color="k", zorder=3)
    ax.set_ylabel(ylabel)
    return ax


def plot_spectral_norms(estimator, ax=None):
    """Per-layer operator norms of the penalized layers over epochs (Fig. E.1).

    Reads ``history_[:, "spectral_norms"]`` (recorded when a penalty was configured).

    Parameters
    ----------
    estimator : fitted skspectral estimator
        Trained with a regularizer, so that its history records ``spectral_norms``.
    ax : matplotlib.axes.Axes, default=None
        Axes to draw on; a new figure's when None.

    Returns
    -------
    ax : matplotlib.axes.Axes
        One line per penalized layer, its y data the recorded norms.

    Raises
    ------
    ValueError
        If the estimator's history has no ``spectral_norms`` record.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skspectral.estimators import SpectralMLPClassifier
    >>> from skspectral.plotting import plot_spectral_norms
    >>> rng = np.random.RandomState(0)
    >>> X = rng.uniform(-1, 1, (40, 2)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(int)
    >>> clf = SpectralMLPClassifier(hidden_layer_sizes=(8, 8), max_epochs=3,
    ...                             random_state=0).fit(X, y)
    >>> ax = plot_spectral_norms(clf)
    >>> [(line.get_label(), len(line.get_ydata())) for line in ax.get_lines()]
    [('features.hidden0', 3), ('features.hidden1', 3)]
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator)
    if not hasattr(type(estimator), "history_"):
        raise TypeError(f"plot_spectral_norms needs a fitted skspectral estimator (its "
                        f"history_), got {type(estimator).__name__}.")
    history = estimator.history_
    if not len(history) or "spectral_norms" not in history[-1]:
        raise ValueError(f"{type(estimator).__name__}'s history has no spectral_norms record: "
                         "it is recorded when a regularizer is set.")
    records = history[:, "spectral_norms"]
    ax = _axes(ax)
    epochs = np.arange(1, len(records) + 1)
    for layer in records[-1]:
        ax.plot(epochs, [r.get(layer, np.nan) for r in records], label=layer)
    ax.set_xlabel("epoch")
    ax.set_ylabel("σ_max")
    ax.legend(fontsize="small")
    return ax


def plot_adversarial_examples(X, result, n=8, image_shape=None):
    """Inputs, their adversarial examples and the perturbations, a column each (Fig. E.4).

    Parameters
    ----------
    X : array-like of shape (n, H, W), (n, C, H, W) or (n, n_features)
        The attacked inputs: images, or flat rows reshaped with ``image_shape``.
    result : AttackResult
        Of an attack on ``X``; samples without an adversarial point are skipped.
    n : int, default=8
        Columns (the first ``n`` samples with a point at distance > 0).
    image_shape : tuple, default=None
        ``(H, W)`` or ``(C, H, W)`` of a flat row; ``X``'s own sample shape when None.

    Returns
    -------
    fig : matplotlib.figure.Figure
        3 rows (input, adversarial, perturbation) of ``n`` images; the perturbation row is
        titled with each sample's distance.

    Raises
    ------
    ValueError
        If ``result`` holds no adversarial point at a distance > 0.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skspectral.attacks import AttackResult
    >>> from skspectral.plotting import plot_adversarial_examples
    >>> X = np.zeros((3, 16))
    >>> adversarial = X + np.eye(3, 16) * [[0.5], [0.0], [1.5]]
    >>> result = AttackResult(distances=np.array([0.5, np.inf, 1.5]), adversarial=adversarial,
    ...                       success=np.array([True, False, True]), queries=np.full(3, 100),
    ...                       clip_min=0.0, clip_max=1.0)
    >>> fig = plot_adversarial_examples(X, result, image_shape=(4, 4))
    >>> len(fig.axes), [ax.get_title() for ax in fig.axes[-2:]]
    (6, ['0.50', '1.50'])
    """
    if not isinstance(result, AttackResult):
        raise TypeError(f"result must be an AttackResult, got {type(result).__name__}.")
    validate("plot_adversarial_examples",
             {"n": [StrictInterval(Integral, 1, None, closed="left")]}, {"n": n})
    X = check_array(X, "X", min_ndim=2).astype(float)
    if len(X) != len(result):
        raise ValueError(f"X has {len(X)} samples but result has {len(result)}: pass the "
                         "attacked samples.")
    shape = X.shape[1:] if image_shape is None else tuple(image_shape)
    if math.prod(shape) != X[0].size or not 2 <= len(shape) <= 3:
        raise ValueError(f"image_shape {shape} must be (H, W) or (C, H, W) of the "
                         f"{X[0].size} values of each sample of X.")
    plt = _pyplot()
    picked = np.flatnonzero(result.success & (result.distances > 0))[:n]
    if not len(picked):
        raise ValueError("result holds no adversarial point at a distance > 0 to show.")
    fig, axes = plt.subplots(3, len(picked), figsize=(1.4 * len(picked), 4.4), squeeze=False)
    for j, i in enumerate(picked):
        clean = X[i].reshape(shape)
        adv = np.asarray(result.adversarial[i], dtype=float).reshape(shape)
        for row, image in enumerate((clean, adv, adv - clean)):
            image = np.moveaxis(image, 0, -1) if image.ndim == 3 else image
            image = image[..., 0] if image.ndim == 3 and image.shape[-1] == 1 else image
            ax = axes[row, j]
            if row == 2:
                bound = np.abs(image).max() or 1.0
                ax.imshow(image, cmap="seismic", vmin=-bound, vmax=bound)
                ax.set_title(f"{result.distances[i]:.2f}", fontsize=8)
            else:
                ax.imshow(image, cmap="gray" if image.ndim == 2 else None)
            ax.set_axis_off()
    return fig
