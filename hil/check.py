"""`ecqx hil`: stream test inputs to a device, compare every output with the integer
reference engine, and write JSON + markdown reports and a confusion matrix. Results are
written after every failure too, so nothing obtained is lost."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecqx.files import write_json, write_text
from ecqx.hil.device import Device, HilError, StaleFirmware
from ecqx.hil.transport import TransportError
from ecqx.integer import IntegerModel, engine
from ecqx.report import DEVICE, INTEGER, QUANTIZED, percent

REPORTS = ("hil_report.json", "hil_report.md", "confusion.png")


def clear_reports(out: Path) -> None:
    """Remove an earlier run's reports, so a run that fails early never leaves an old PASS
    behind as if it were its own."""
    for name in REPORTS:
        (Path(out) / name).unlink(missing_ok=True)


def read_instruction_counts(path: Path | None) -> list[int]:
    """The per-inference instruction counts the plugin wrote (one per line)."""
    if path is None or not Path(path).is_file():
        return []
    return [int(v) for v in Path(path).read_text().split()]


def count_stats(counts: list[int]) -> dict:
    """Count, mean, min and max of per-interval instruction counts (None when empty)."""
    return {
        "count": len(counts),
        "mean": float(np.mean(counts)) if counts else None,
        "min": int(min(counts)) if counts else None,
        "max": int(max(counts)) if counts else None,
    }


def confusion(true: np.ndarray, pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (true, pred), 1)
    return m


def plot_confusion(m: np.ndarray, labels: list[str], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    im = ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(labels)), labels, fontsize=8)
    ax.set_xlabel("predicted on device")
    ax.set_ylabel("true label")
    ax.set_title(title, fontsize=10)
    for (i, j), v in np.ndenumerate(m):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=6,
                    color="white" if v > m.max() / 2 else "black")  # fmt: skip
    fig.colorbar(im, ax=ax, fraction=0.046)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_check(
    device: Device,
    model: IntegerModel,
    x: np.ndarray,
    labels: np.ndarray,
    out: Path,
    torch_pred: np.ndarray | None = None,
    icount_file: Path | None = None,
    progress: bool = True,
    population: int | None = None,
    boot: bool = False,
    pcm: np.ndarray | None = None,
) -> dict:
    """Stream ``x`` to the device and compare every output with the reference engine.
    ``population`` is the size of the split ``x`` was drawn from, when it is a subset; with
    ``boot`` the device's BOOT announcement is awaited first (an emulator just started).
    With ``pcm`` (the int16 clips ``x`` was computed from) the device gets the audio and runs
    its front end too; its features are compared with ``x`` and its logits with the reference.

    The reports are written whatever happens: a device failure (hang, reset, garbled or
    invalid reply, a dropped link) ends the run with what was obtained so far; an interrupt
    or a bug writes them too, then propagates."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    clear_reports(out)
    ref = np.asarray(engine.run(model, x))
    got: list[np.ndarray] = []
    got_x: list[np.ndarray] = []
    dev_class: list[int] = []
    cycles: list[int] = []
    fe_cycles: list[int] = []
    failure = None
    t0 = time.perf_counter()
    interrupted: BaseException | None = None
    try:
        if boot:
            try:
                device.wait_boot()
            except HilError as e:
                raise type(e)(f"the board did not boot: {e}") from e
        info = device.info or device.hello()
        if info.model_id != model.identity():
            raise StaleFirmware(
                f"device runs model {info.model_id}, expected {model.identity()}: the firmware "
                "is stale; rebuild and flash it (`ecqx export --target cortex-m`)"
            )
        if info.in_features != model.in_features or info.num_classes != model.num_classes:
            raise StaleFirmware("device model shape differs from the integer model")
        desc = f"HIL{' (audio)' if pcm is not None else ''} on {device.t.describe()}"
        for i in tqdm(range(len(x)), desc=desc, disable=not progress):
            if pcm is None:
                r = device.infer(x[i])
                cycles.append(r.cycles)
            else:
                r = device.classify(pcm[i])
                got_x.append(np.frombuffer(r.features, np.int8).copy())
                fe_cycles.append(r.cycles_front_end)
                cycles.append(r.cycles_network)
            got.append(np.frombuffer(r.logits, np.int8).copy())
            dev_class.append(r.label)
    except (HilError, TransportError) as e:
        failure = f"{type(e).__name__}: {e}"
    except BaseException as e:  # Ctrl-C or a bug: keep what was obtained, then re-raise
        failure = f"interrupted: {type(e).__name__}: {e}"
        interrupted = e
    elapsed = time.perf_counter() - t0
    n = len(got)
    dev = np.stack(got) if n else np.zeros((0, model.num_classes), np.int8)
    features_differ = {i for i in range(len(got_x)) if not np.array_equal(got_x[i], x[i])}
    mismatches = [
        {
            "sample": i,
            "device": dev[i].tolist(),
            "reference": ref[i].tolist(),
            "device_class": dev_class[i],
            "reference_class": int(ref[i].argmax()),
            "features_equal": i not in features_differ,
        }  # fmt: skip
        for i in range(n)
        if not np.array_equal(dev[i], ref[i])
        or dev_class[i] != int(ref[i].argmax())
        or i in features_differ
    ]
    counts = read_instruction_counts(icount_file)
    # with audio, the firmware marks the front end and the network as two intervals each
    fe_counts, counts = (counts[0::2], counts[1::2]) if pcm is not None else ([], counts)
    report = {
        "device": device.info.__dict__ if device.info else None,
        "model_identity": model.identity(),
        "requested": int(len(x)),
        "population": int(population if population is not None else len(x)),
        "completed": n,
        "failure": failure,
        "bit_exact": failure is None and not mismatches and n == len(x),
        "mismatches": mismatches,
        "top1": {
            DEVICE: float((np.array(dev_class) == labels[:n]).mean()) if n else None,
            INTEGER: float((ref[:n].argmax(1) == labels[:n]).mean()) if n else None,
            QUANTIZED: float((torch_pred[:n] == labels[:n]).mean())
            if n and torch_pred is not None
            else None,
        },
        "instructions_per_inference": count_stats(counts)
        | {
            "note": "exact guest instructions between the firmware markers (QEMU TCG plugin), "
            "not cycles",
        },
        "cycles_per_inference": float(np.mean(cycles)) if cycles and max(cycles) > 0 else None,
        "audio": None
        if pcm is None
        else {
            "features_bit_exact": n > 0 and not features_differ,
            "features_mismatching_samples": len(features_differ),
            "instructions_front_end": count_stats(fe_counts),
            "cycles_front_end": float(np.mean(fe_cycles)) if fe_cycles and max(fe_cycles) else None,
        },
        "seconds": elapsed,
        "inferences_per_second": n / elapsed if elapsed > 0 else None,
    }
    if n:
        m = confusion(labels[:n], np.array(dev_class), model.num_classes)
        report["confusion_matrix"] = m.tolist()
        title = f"on-device top-1 {percent(report['top1'][DEVICE])} ({n} samples)"
        plot_confusion(m, model.labels, out / "confusion.png", title)
    write_json(out / "hil_report.json", report)
    write_text(out / "hil_report.md", markdown(report))
    if interrupted is not None:
        raise interrupted
    return report


def _audio_lines(a: dict | None) -> list[str]:
    if a is None:
        return []
    fe = a["instructions_front_end"]
    count = "-" if fe["mean"] is None else f"{fe['mean']:.0f} (min {fe['min']}, max {fe['max']})"
    return [
        "- input: 16-bit PCM clips; the device ran the front end (features bit-exact: "
        f"**{'yes' if a['features_bit_exact'] else 'NO'}**, "
        f"{a['features_mismatching_samples']} samples differ)",
        f"- front-end instructions per 1 s clip (exact, emulator): {count}",
    ]


def subset_note(r: dict) -> str:
    """How the samples relate to their split: empty when the whole split ran."""
    if r["requested"] == r["population"]:
        return ""
    return f"; a class-stratified subset of the {r['population']}-sample test split"


def markdown(r: dict) -> str:
    ic = r["instructions_per_inference"]
    icount = "-" if ic["mean"] is None else f"{ic['mean']:.0f} (min {ic['min']}, max {ic['max']})"
    lines = [
        "# Hardware-in-the-loop report",
        "",
        f"- device: {r['device']['board'] if r['device'] else 'unknown'}, model "
        f"{r['model_identity']}",
        f"- samples: {r['completed']} of {r['requested']}"
        + (f" (stopped: {r['failure']})" if r["failure"] else "")
        + subset_note(r),
        f"- bit-exact with the integer reference: **{'yes' if r['bit_exact'] else 'NO'}** "
        f"({len(r['mismatches'])} mismatching samples)",
        *_audio_lines(r.get("audio")),
        "",
        "| execution | top-1 |",
        "|---|---|",
    ]
    for k, v in r["top1"].items():
        lines.append(f"| {k} | {percent(v)} |")
    lines += [
        "",
        f"- instructions per inference (exact, emulator): {icount}",
        f"- cycles per inference (DWT): {r['cycles_per_inference'] or '-'}",
        f"- throughput: {r['inferences_per_second'] or 0:.1f} inferences/s over the link",
    ]
    if r["mismatches"]:
        lines += ["", "## Mismatches", "", "| sample | device | reference |", "|---|---|---|"]
        for m in r["mismatches"][:50]:
            lines.append(f"| {m['sample']} | {m['device']} | {m['reference']} |")
    return "\n".join(lines) + "\n"
