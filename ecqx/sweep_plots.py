"""The sweep's figures, after the paper's: accuracy vs sparsity (ECQ vs ECQx, Fig. 7; ECQx
per target p, Fig. 6), accuracy vs NNC size per bit width (Fig. 9), and weight vs LRP relevance
of one layer with marginal histograms (Fig. 4). Each takes the rows of ``results.csv`` (or a
checkpoint) and writes one PNG."""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ecqx.sweep_tables import main_p, summarize  # noqa: E402

STYLE = {"ecq": ("tab:blue", "o", "ECQ"), "ecqx": ("tab:red", "s", "ECQx")}


def _num(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def _save_sparsity_axes(fig: plt.Figure, ax: plt.Axes, path: Path, title: str) -> Path:
    """Label a top-1-over-sparsity plot, write it and close it."""
    ax.set_xlabel("sparsity (% zero weights)")
    ax.set_ylabel("test top-1 (%)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def accuracy_vs_sparsity(summary: list[dict], path: Path, bits: int = 4) -> Path | None:
    """Top-1 over sparsity for ECQ and ECQx at one bit width, a line per method (and p), from
    the sweep's summary rows: with several seeds, each point is the mean with one standard
    deviation as error bars in both directions."""
    sel = [r for r in summary if int(r["bits"]) == bits]
    main = main_p(sel, bits)  # ECQx at its main p; Fig. 6 shows the others
    if main is not None:
        sel = [r for r in sel if r["method"] != "ecqx" or _num(r["p"]) == main]
    if not sel:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    fp = [_num(r["top1_float_mean"]) for r in sel]
    ax.axhline(100 * np.nanmean(fp), color="gray", ls="--", lw=1, label="float")
    series: dict[tuple[str, float], list[dict]] = {}
    for r in sel:
        series.setdefault((r["method"], _num(r["p"])), []).append(r)
    seeds = max(int(r["n"]) for r in sel)
    for (method, p), rs in sorted(series.items()):
        rs = sorted(rs, key=lambda r: _num(r["sparsity_mean"]))
        color, marker, label = STYLE.get(method, ("black", "x", method))
        if method == "ecqx" and len({k[1] for k in series if k[0] == "ecqx"}) > 1:
            label += f" p={p:g}"
        ax.errorbar(
            [100 * _num(r["sparsity_mean"]) for r in rs],
            [100 * _num(r["top1_quantized_mean"]) for r in rs],
            xerr=[100 * _num(r["sparsity_std"]) for r in rs],
            yerr=[100 * _num(r["top1_quantized_std"]) for r in rs],
            marker=marker,
            color=color,
            label=label,
            capsize=3,
            alpha=0.9 if p in (0.0, 0.1) else 0.5,
        )
    spread = f", mean +- std of {seeds} seeds" if seeds > 1 else ""
    return _save_sparsity_axes(
        fig, ax, path, f"MLP_GSC, {bits}-bit: ECQ vs ECQx over lambda{spread}"
    )


def accuracy_vs_sparsity_by_p(summary: list[dict], path: Path, bits: int = 4) -> Path | None:
    """Fig. 6: ECQx's top-1 over sparsity, one line per p (drawn when the sweep has more than
    one p at this bit width), ECQ for reference."""
    sel = [r for r in summary if int(r["bits"]) == bits]
    ps = sorted({_num(r["p"]) for r in sel if r["method"] == "ecqx"})
    if len(ps) < 2:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    cmap = plt.get_cmap("plasma")
    lines = [("ecq", 0.0, "tab:blue", "ECQ")]
    lines += [("ecqx", p, cmap(i / len(ps)), f"ECQx p={p:g}") for i, p in enumerate(ps)]
    for method, p, color, label in lines:
        rs = sorted((r for r in sel if r["method"] == method and _num(r["p"]) == p),
                    key=lambda r: _num(r["sparsity_mean"]))  # fmt: skip
        if rs:
            ax.plot([100 * _num(r["sparsity_mean"]) for r in rs],
                    [100 * _num(r["top1_quantized_mean"]) for r in rs],
                    marker="o", color=color, label=label)  # fmt: skip
    ax.axhline(100 * np.nanmean([_num(r["top1_float_mean"]) for r in sel]), color="gray",
               ls="--", lw=1, label="float")  # fmt: skip
    return _save_sparsity_axes(fig, ax, path, f"MLP_GSC, {bits}-bit ECQx: the target p")


def accuracy_vs_size(rows: list[dict], path: Path, method: str = "ecqx") -> Path | None:
    """Top-1 over NNC bitstream size, one line per bit width."""
    sel = [r for r in rows if r["method"] == method and not math.isnan(_num(r["nnc_bytes"]))]
    if not sel:
        return None
    fig, ax = plt.subplots(figsize=(6, 4.2))
    cmap = plt.get_cmap("viridis")
    for i, b in enumerate(sorted({int(r["bits"]) for r in sel})):
        rs = sorted((r for r in sel if int(r["bits"]) == b), key=lambda r: _num(r["nnc_bytes"]))
        ax.plot(
            [_num(r["nnc_bytes"]) / 1000 for r in rs],
            [100 * _num(r["top1_quantized"]) for r in rs],
            marker="o",
            color=cmap(i / 4),
            label=f"{b} bit",
        )
    ax.set_xscale("log")
    ax.set_xlabel("NNC bitstream size (kB)")
    ax.set_ylabel("test top-1 (%)")
    ax.set_title(f"MLP_GSC, {method.upper()}: accuracy vs size per bit width")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def weight_vs_relevance(
    weights: np.ndarray, relevance: np.ndarray, codes: np.ndarray, path: Path, title: str
) -> Path:
    """Scatter of full-precision weight vs relevance, coloured by whether ECQx kept the weight,
    with the marginal histograms of both (log counts)."""
    w, r, keep = weights.ravel(), relevance.ravel(), codes.ravel() != 0
    rng = np.random.default_rng(0)
    idx = rng.choice(w.size, min(w.size, 30000), replace=False)
    fig = plt.figure(figsize=(6.4, 6))
    gs = fig.add_gridspec(2, 2, width_ratios=(4, 1), height_ratios=(1, 4), hspace=0.05, wspace=0.05)
    ax = fig.add_subplot(gs[1, 0])
    top = fig.add_subplot(gs[0, 0], sharex=ax)
    side = fig.add_subplot(gs[1, 1], sharey=ax)
    for mask, color, label in ((~keep, "tab:gray", "zero"), (keep, "tab:red", "non-zero")):
        m = mask[idx]
        ax.scatter(w[idx][m], r[idx][m], s=2, alpha=0.35, color=color, label=label, linewidths=0)
        top.hist(w[mask], bins=120, color=color, alpha=0.6, log=True)
        side.hist(r[mask], bins=120, color=color, alpha=0.6, log=True, orientation="horizontal")
    ax.set_xlabel("full-precision weight")
    ax.set_ylabel("relevance (normalized, averaged)")
    ax.legend(markerscale=6, loc="upper right")
    top.tick_params(labelbottom=False)
    side.tick_params(labelleft=False)
    top.set_title(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path


def relevance_figure(run: Path, path: Path, layer: int = 0) -> Path | None:
    """Fig. 4 for one ECQx run's layer, from its checkpoint (None if it has no relevance)."""
    from ecqx.checkpoint import Checkpoint

    layers = list(Checkpoint.load(run).quantizer["layers"].items())
    name, st = layers[layer]
    if st.get("relevance") is None:
        return None
    return weight_vs_relevance(
        st["shadow"],
        st["relevance"],
        st["codes"],
        path,
        f"{Path(run).name}, layer {name}",
    )


def layer_trajectories(runs: dict[str, dict], path: Path) -> Path | None:
    """Per-layer sparsity over the QAT epochs, one panel per run (``metrics.json`` of each):
    which layer a lambda parametrization empties first, and whether one dies."""
    runs = {k: m for k, m in runs.items() if m.get("qat_layer_sparsity")}
    if not runs:
        return None
    cols = min(4, len(runs))
    rows_ = math.ceil(len(runs) / cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(3.6 * cols, 2.8 * rows_), squeeze=False,
                             sharey=True)  # fmt: skip

    def order(item: tuple[str, dict]) -> tuple:
        c = item[1].get("config", {})
        return (c.get("method", ""), c.get("bits", 0), c.get("p", 0.0), c.get("lam", 0.0), item[0])

    for ax, (name, m) in zip(axes.flat, sorted(runs.items(), key=order)):
        traj = np.asarray(m["qat_layer_sparsity"]) * 100
        epochs = np.arange(1, len(traj) + 1)
        for k in range(traj.shape[1]):
            ax.plot(epochs, traj[:, k], label=f"layer {k}", color=plt.cm.viridis(k / traj.shape[1]))
        top1 = m["top1_quantized"]["testing"] * 100
        ax.set_title(f"{name}\n{m['sparsity'] * 100:.1f}% zeros, top-1 {top1:.1f}%", fontsize=8)
        ax.set_xlabel("QAT epoch")
        ax.set_ylim(0, 100)
    for ax in axes[:, 0]:
        ax.set_ylabel("layer sparsity (%)")
    for ax in list(axes.flat)[len(runs) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def draw_figures(rows: list[dict], out: Path) -> list[Path]:
    """Every figure of a sweep: Fig. 7 per bit width, Fig. 9, and Fig. 4 for the input and
    output layers of the sparsest ECQx run. Returns the files drawn."""
    out = Path(out)
    summary = summarize(rows)
    figs = [
        accuracy_vs_sparsity(summary, out / f"fig7_top1_vs_sparsity_{b}bit.png", bits=b)
        for b in sorted({int(r["bits"]) for r in rows})
    ]
    figs += [
        accuracy_vs_sparsity_by_p(summary, out / f"fig6_top1_vs_sparsity_p_{b}bit.png", bits=b)
        for b in sorted({int(r["bits"]) for r in rows})
    ]
    # the per-run figures show one seed (the smallest): a panel or a line per run and seed
    # would bury the shape the figure is for
    first = min((int(r["seed"]) for r in rows), default=0)
    rows = [r for r in rows if int(r["seed"]) == first]
    figs.append(accuracy_vs_size(rows, out / "fig9_top1_vs_size.png"))
    metrics = {}
    for r in rows:
        f = out / "runs" / r["run"] / "metrics.json"
        if f.is_file():
            metrics[r["run"]] = json.loads(f.read_text())
    figs.append(layer_trajectories(metrics, out / "layer_sparsity_trajectories.png"))
    ecqx_runs = [r for r in rows if r["method"] == "ecqx"]
    if ecqx_runs:
        pick = max(ecqx_runs, key=lambda r: float(r["sparsity"]))
        for layer, where in ((0, "input"), (-1, "output")):
            figs.append(
                relevance_figure(
                    out / "runs" / pick["run"],
                    out / f"fig4_weight_vs_relevance_{where}_layer.png",
                    layer=layer,
                )
            )
    return [f for f in figs if f is not None]
