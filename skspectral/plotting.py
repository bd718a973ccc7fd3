"""The paper's pictures from fitted estimators and attack results (matplotlib, optional).

Every function draws on a given Axes (a new one when ``ax`` is None) and returns it (or the
Figure, for a grid), and never calls ``show``: save with ``ax.figure.savefig(...)``. Needs the
``plot`` extra (``pip install "skspectral[plot]"``).
"""

import numpy as np

from .attacks import AttackResult
from .metrics import volume_element

__all__ = [
    "plot_adversarial_examples",
    "plot_decision_regions",
    "plot_distance_density",
    "plot_fraction_above",
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


def _grid(bounds, resolution):
    (x0, x1), (y0, y1) = bounds
    xs, ys = np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)


def _distances(result):
    """Per-sample distances of correctly classified samples (finite, > 0)."""
    d = np.asarray(result.distances if isinstance(result, AttackResult) else result, float)
    return d[np.isfinite(d) & (d > 0)]


def plot_decision_regions(estimator, X, y, bounds=None, resolution=200, ax=None):
    """Decision regions of a classifier of 2-D inputs, with its training points (Fig. 3a).

    Parameters
    ----------
    estimator : fitted classifier of 2-D inputs
    X : array-like of shape (n_samples, 2)
    y : array-like of shape (n_samples,)
    bounds : ((x_min, x_max), (y_min, y_max)), optional
        The plotted box; X's range padded by 10% when None.
    resolution : int, default=200
        Grid points per axis.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One filled contour set of the predicted class codes, one scatter per class.
    """
    X, y = np.asarray(X, dtype=np.float32), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"plot_decision_regions needs X of shape (n_samples, 2), got {X.shape}.")
    bounds = _bounds(X) if bounds is None else bounds
    ax = _axes(ax)
    xx, yy, grid = _grid(bounds, resolution)
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
    model : see :func:`~skspectral.metrics.volume_element` (2-D inputs)
    bounds : ((x_min, x_max), (y_min, y_max))
    resolution : int, default=100
    ax : matplotlib Axes, optional
    vmin, vmax : float, optional
        Ends of the colour scale (the grid's smallest positive and largest value when
        None); give the same ones to several panels to compare models on one scale.

    Returns
    -------
    matplotlib.axes.Axes
        One QuadMesh whose array is ``volume_element`` on the grid, with a colour bar.
    """
    LogNorm = _matplotlib().colors.LogNorm
    ax = _axes(ax)
    xx, yy, grid = _grid(bounds, resolution)
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
    results : dict ``{label: AttackResult or array of distances}``
        Misclassified (0) and failed (inf) samples are left out.
    ax : matplotlib Axes, optional
    bandwidth : str or float, optional
        ``bw_method`` of :class:`scipy.stats.gaussian_kde` (Scott's rule when None).

    Returns
    -------
    matplotlib.axes.Axes
        One line per model.
    """
    from scipy.stats import gaussian_kde

    ax = _axes(ax)
    data = {label: _distances(r) for label, r in results.items()}
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
    results : dict ``{label: AttackResult or array of distances}``
    thresholds : array-like, optional
        The paper's 15 thresholds, evenly spaced from 0 to the largest distance, when None.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line (with markers) per model, its y data the fractions.
    """
    ax = _axes(ax)
    data = {label: _distances(r) for label, r in results.items()}
    if thresholds is None:
        top = max((d.max() for d in data.values() if len(d)), default=1.0)
        thresholds = np.linspace(0.0, top, 15)
    thresholds = np.asarray(thresholds, dtype=float)
    for label, d in data.items():
        fraction = (d[:, None] > thresholds[None, :]).mean(axis=0) if len(d) else \
            np.full(len(thresholds), np.nan)
        ax.plot(thresholds, fraction, marker="o", label=label)
    ax.set_xlabel("threshold")
    ax.set_ylabel("fraction of samples beyond")
    ax.legend()
    return ax


def plot_seed_boxes(values, ylabel="", ax=None):
    """One box per model over seeds, each seed's value a dot (Figs. 4, 5).

    Parameters
    ----------
    values : dict ``{label: sequence of per-seed values}`` (accuracy, mean distance, ...)
    ylabel : str, default=""
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One box per model and one scatter per model with its seeds' values.
    """
    ax = _axes(ax)
    labels = list(values)
    data = [np.asarray(values[k], dtype=float) for k in labels]
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

    Returns
    -------
    matplotlib.axes.Axes
        One line per penalized layer, its y data the recorded norms.
    """
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
    X : array-like of images ``(n, H, W)``, ``(n, C, H, W)`` or flat rows with ``image_shape``
    result : AttackResult
        Of an attack on ``X``; samples without an adversarial point are skipped.
    n : int, default=8
        Columns (the first ``n`` samples with a point at distance > 0).
    image_shape : tuple, optional
        ``(H, W)`` or ``(C, H, W)`` of a flat row.

    Returns
    -------
    matplotlib.figure.Figure
        3 rows (input, adversarial, perturbation) of ``n`` images; the perturbation row is
        titled with each sample's distance.
    """
    plt = _pyplot()
    X = np.asarray(X, dtype=float)
    shape = X.shape[1:] if image_shape is None else tuple(image_shape)
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
