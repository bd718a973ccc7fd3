"""Figure helpers shared by the experiments (headless: matplotlib's Agg canvas)."""

__all__ = ["set_up_figure", "save_figure", "model_figures"]


def set_up_figure(n_rows, n_cols, size=(3.2, 2.8)):
    """A figure with an ``n_rows x n_cols`` grid of axes (a 2-D array), drawn without pyplot
    so that no GUI backend is touched."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] * n_cols, size[1] * n_rows))
    return fig, fig.subplots(n_rows, n_cols, squeeze=False)


def save_figure(fig, path, dpi=72):
    """Save ``fig`` as a small PNG; return the path."""
    fig.savefig(path, dpi=dpi)
    return path


def model_figures(experiment, records, samples, out):
    """The per-model figures of an image experiment, one panel per readout.

    ``<name>_seeds.png``: accuracy and mean TA distance per seed as box plots (Figs. 4, 5);
    ``<name>_distances.png``: the kernel density of the per-sample distances of seed 0 (Fig.
    6a) and the fraction of them above each of 15 thresholds.

    Models are named ``regularizer`` (or ``condition/regularizer`` where the experiment has
    several conditions).
    """
    from ..plotting import plot_distance_density, plot_fraction_above, plot_seed_boxes

    if not records:
        return []
    several = len(experiment.conditions) > 1

    def label(row):
        return f"{row['condition']}/{row['regularizer']}" if several else row["regularizer"]

    readouts = list(dict.fromkeys(r["readout"] for r in records))
    labels = [f"{c}/{r}" if several else r for c in experiment.conditions
              for r in experiment.regularizers]
    fig, axes = set_up_figure(2, len(readouts), size=(1.0 + 1.1 * len(labels), 2.8))
    for j, readout in enumerate(readouts):
        rows = [r for r in records if r["readout"] == readout]
        for i, key in enumerate(("accuracy", "mean_distance")):
            plot_seed_boxes({lab: [r[key] for r in rows if label(r) == lab] for lab in labels},
                            "test accuracy" if key == "accuracy" else "mean TA distance",
                            ax=axes[i, j])
            axes[i, j].tick_params(axis="x", labelsize="small")
        axes[0, j].set_title(readout, fontsize="medium")
    fig.tight_layout()
    paths = [save_figure(fig, out / f"{experiment.name.replace('-', '_')}_seeds.png")]

    fig, axes = set_up_figure(2, len(readouts), size=(4.2, 3.0))
    for j, readout in enumerate(readouts):
        per_model = {lab: [s["distance"] for s in samples if s["readout"] == readout
                           and s["seed"] == 0 and label(s) == lab] for lab in labels}
        per_model = {k: v for k, v in per_model.items() if v}
        plot_distance_density(per_model, ax=axes[0, j])
        plot_fraction_above(per_model, ax=axes[1, j])
        axes[0, j].set_title(f"{readout}, seed 0", fontsize="medium")
    fig.tight_layout()
    paths.append(save_figure(fig, out / f"{experiment.name.replace('-', '_')}_distances.png"))
    return paths
