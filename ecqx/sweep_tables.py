"""The sweep's tables: per grid point over seeds (mean and standard deviation), the working
points picked from them, and ECQx against ECQ at equal sparsity, as CSV rows and Markdown.
Pure functions of the per-run rows (``results.csv``), so they can be re-run on any sweep's
table without the runs."""

from __future__ import annotations

import numpy as np

from ecqx.report import percent

SUMMARY_KEYS = ("method", "bits", "lam", "p")
SUMMARY_VALUES = ("sparsity", "top1_float", "top1_quantized", "top1_integer", "nnc_bytes")
SUMMARY_COLUMNS = [*SUMMARY_KEYS, "n", "seeds"] + [f"{v}_{m}" for v in SUMMARY_VALUES
                                                   for m in ("mean", "std")]  # fmt: skip


def summarize(rows: list[dict]) -> list[dict]:
    """One row per grid point over its seeds: ``n``, the seeds, and mean and (sample)
    standard deviation of each measure (std 0 for a single seed)."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in SUMMARY_KEYS), []).append(r)
    out = []
    for key, rs in groups.items():
        s = dict(zip(SUMMARY_KEYS, key, strict=True))
        s["n"] = len(rs)
        s["seeds"] = " ".join(str(r["seed"]) for r in sorted(rs, key=lambda r: int(r["seed"])))
        for v in SUMMARY_VALUES:
            x = np.array([float(r[v]) if r[v] != "" else np.nan for r in rs])
            s[f"{v}_mean"] = round(float(np.mean(x)), 5)
            s[f"{v}_std"] = round(float(np.std(x, ddof=1)) if len(x) > 1 else 0.0, 5)
        out.append(s)
    return sorted(out, key=lambda s: (s["method"], int(s["bits"]), float(s["p"]), float(s["lam"])))


# the working points the sweep picks (issue 15): name -> allowed top-1 loss vs float
WORKING_POINTS = {"no_loss": 0.0, "small_and_fast": 0.01}


def working_points(summary: list[dict], bits: int = 4) -> dict:
    """Per method, the sparsest grid point at ``bits`` whose mean quantized top-1 is at least
    the mean float top-1 minus each allowed loss (None where no point qualifies). Only points
    with the method's largest number of seeds compete, so one lucky seed cannot win."""
    picks: dict[str, dict] = {}
    for method in sorted({s["method"] for s in summary}):
        rows = [s for s in summary if s["method"] == method and int(s["bits"]) == bits]
        most = max((int(s["n"]) for s in rows), default=0)
        rows = [s for s in rows if int(s["n"]) == most]
        for name, loss in WORKING_POINTS.items():
            floor = [float(s["top1_float_mean"]) - loss for s in rows]
            ok = [s for s, f in zip(rows, floor) if float(s["top1_quantized_mean"]) >= f]
            best = max(ok, key=lambda s: float(s["sparsity_mean"]), default=None)
            picks.setdefault(method, {})[name] = best
    return picks


COMPARE_AT = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8)  # sparsities at which ECQx and ECQ are compared


def main_p(rows: list[dict], bits: int) -> float | None:
    """ECQx's main p at ``bits``: the one with the most runs (a summary row counts its ``n``
    seeds), the smaller on a tie; the one Fig. 7 draws and the comparison uses. None without
    ECQx runs."""
    runs: dict[float, int] = {}
    for r in rows:
        if r["method"] == "ecqx" and int(r["bits"]) == bits:
            runs[float(r["p"])] = runs.get(float(r["p"]), 0) + int(r.get("n", 1))
    return max(runs, key=lambda p: (runs[p], -p)) if runs else None


def read_off(runs: list[dict], level: float) -> float | None:
    """Top-1 (quantized) of one seed's ``runs`` over lambda at sparsity ``level``, linearly
    interpolated between the runs; None outside their range (no extrapolation) or with fewer
    than two runs."""
    runs = sorted(runs, key=lambda r: float(r["sparsity"]))
    x = np.array([float(r["sparsity"]) for r in runs])
    if len(x) < 2 or not x[0] <= level <= x[-1]:
        return None
    return float(np.interp(level, x, [float(r["top1_quantized"]) for r in runs]))


def matched_sparsity(rows: list[dict], bits: int = 4, levels: tuple = COMPARE_AT) -> list[dict]:
    """ECQx vs ECQ at equal sparsity: per seed, each method's top-1 read off its curve over
    lambda by linear interpolation (no extrapolation) at each level, then the per-seed
    difference ECQx - ECQ, with its mean and sample standard deviation over the seeds both
    methods reach. Lambda sets the sparsity only loosely (seeds differ by up to 12 pp at one
    lambda), so comparing at equal lambda would compare different sparsities."""
    main = main_p(rows, bits)

    def curve(method: str, seed: int) -> list[dict]:
        return [
            r
            for r in rows
            if r["method"] == method
            and int(r["bits"]) == bits
            and int(r["seed"]) == seed
            and (method == "ecq" or float(r["p"]) == main)
        ]

    out = []
    for level in levels:
        diffs, tops = [], {"ecq": [], "ecqx": []}
        for seed in sorted({int(r["seed"]) for r in rows}):
            got = {m: read_off(curve(m, seed), level) for m in ("ecq", "ecqx")}
            got = {m: v for m, v in got.items() if v is not None}
            if len(got) == 2:
                diffs.append(got["ecqx"] - got["ecq"])
                for m in got:
                    tops[m].append(got[m])
        if diffs:
            d = np.array(diffs)
            out.append({
                "sparsity": level, "seeds": len(d),
                "ecq": float(np.mean(tops["ecq"])), "ecqx": float(np.mean(tops["ecqx"])),
                "diff_mean": float(d.mean()),
                "diff_std": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
            })  # fmt: skip
    return out


def against_curve(points: list[dict], curve: list[dict], bits: int = 4) -> list[dict]:
    """Each grid point of ``points`` (e.g. ECQx at one p and beta cap) against ``curve`` (e.g.
    ECQ's runs over lambda) at that point's own sparsity, seed by seed: the curve's top-1 is
    interpolated on the same seed's curve (no extrapolation) and the difference taken per seed.
    Where the points of one method sit at several p, this is the comparison that needs no
    ECQx curve. One row per (method, lam, p): seeds reached, mean sparsity, mean top-1 of
    both, mean and sample std of the difference."""
    curve = [c for c in curve if int(c["bits"]) == bits]
    groups: dict[tuple, list[dict]] = {}
    for r in points:
        if int(r["bits"]) == bits:
            groups.setdefault((r["method"], float(r["lam"]), float(r["p"])), []).append(r)
    out = []
    for (method, lam, p), rs in groups.items():
        got = []
        for r in rs:
            level = float(r["sparsity"])
            at = read_off([c for c in curve if int(c["seed"]) == int(r["seed"])], level)
            if at is not None:
                got.append((level, float(r["top1_quantized"]), at))
        if got:
            a = np.array(got)
            d = a[:, 1] - a[:, 2]
            out.append({
                "method": method, "lam": lam, "p": p, "seeds": len(a),
                "sparsity": float(a[:, 0].mean()), "top1": float(a[:, 1].mean()),
                "curve_top1": float(a[:, 2].mean()), "diff_mean": float(d.mean()),
                "diff_std": float(d.std(ddof=1)) if len(d) > 1 else 0.0,
            })  # fmt: skip
    return sorted(out, key=lambda c: c["sparsity"])


def comparison_markdown(rows: list[dict]) -> str:
    """``matched_sparsity`` as a Markdown table, saying where the difference exceeds the
    spread over seeds."""
    lines = ["| sparsity | seeds | ECQ top-1 % | ECQx top-1 % | ECQx - ECQ (pp) | beyond spread |",
             "|---" * 6 + "|"]  # fmt: skip
    for c in matched_sparsity(rows):
        beyond = c["seeds"] > 1 and abs(c["diff_mean"]) > c["diff_std"]
        lines.append(
            f"| {100 * c['sparsity']:.0f}% | {c['seeds']} | {100 * c['ecq']:.1f} | "
            f"{100 * c['ecqx']:.1f} | {100 * c['diff_mean']:+.1f} +- {100 * c['diff_std']:.1f} | "
            f"{'yes' if beyond else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def summary_markdown(summary: list[dict]) -> str:
    """``summary.csv`` as a Markdown table: mean +- std over seeds, in percent."""

    def pm(s: dict, v: str) -> str:
        mean, std = float(s[f"{v}_mean"]), float(s[f"{v}_std"])
        return f"{100 * mean:.1f} +- {100 * std:.1f}" if int(s["n"]) > 1 else percent(mean)

    lines = ["| method | bits | lambda | p | seeds | sparsity % | top-1 quantized % | "
             "top-1 integer % | top-1 float % | NNC kB |", "|---" * 10 + "|"]  # fmt: skip
    for s in summary:
        lines.append(
            f"| {s['method']} | {s['bits']} | {float(s['lam']):g} | {float(s['p']):g} | "
            f"{s['seeds']} | {pm(s, 'sparsity')} | {pm(s, 'top1_quantized')} | "
            f"{pm(s, 'top1_integer')} | {pm(s, 'top1_float')} | "
            f"{float(s['nnc_bytes_mean']) / 1000:.1f} |"
        )
    return "\n".join(lines) + "\n"
