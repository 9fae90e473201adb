"""Training curves: the loss and the metric against the step, read from ``metrics.jsonl``,
drawn with matplotlib (``gradkit plot``) or as a one-line sparkline in the terminal (the
end of ``gradkit train``)."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UserError
from .listing import DEPTH, _walk, read_records, read_run

__all__ = ["Curves", "read_curves", "collect_curves", "draw", "sparkline", "label_runs"]

#: the most records read from one metrics.jsonl (a bigger file is read from its end)
MAX_BYTES = 64 << 20
_BARS = "▁▂▃▄▅▆▇█"


@dataclass
class Curves:
    """One run's series: (step, value) for the train and validation loss and metric."""

    folder: Path
    label: str = ""
    overrides: list[str] = field(default_factory=list)
    metric_name: str = "metric"
    train_loss: list[tuple[int, float]] = field(default_factory=list)
    val_loss: list[tuple[int, float]] = field(default_factory=list)
    train_metric: list[tuple[int, float]] = field(default_factory=list)
    val_metric: list[tuple[int, float]] = field(default_factory=list)

    def empty(self) -> bool:
        """True when the run logged nothing yet."""
        return not (self.train_loss or self.val_loss)


def _finite(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v) if math.isfinite(v) else None


def read_curves(folder: Path) -> Curves:
    """A run folder's curves (untrusted content: odd records are skipped)."""
    info = read_run(folder)
    c = Curves(folder=folder, overrides=info.overrides)
    for rec in read_records(folder / "metrics.jsonl", tail=MAX_BYTES):
        step = rec["step"]
        split = rec.get("split")
        loss, metric = _finite(rec.get("loss")), _finite(rec.get("metric"))
        if isinstance(rec.get("metric_name"), str):
            c.metric_name = rec["metric_name"][:40]
        if split == "train":
            if loss is not None:
                c.train_loss.append((step, loss))
            if metric is not None:
                c.train_metric.append((step, metric))
        elif split == "val":
            if loss is not None:
                c.val_loss.append((step, loss))
            if metric is not None:
                c.val_metric.append((step, metric))
    return c


def label_runs(curves: list[Curves]) -> None:
    """Label each run by the overrides that differ between them (else its folder)."""
    sets = [set(c.overrides) for c in curves]
    common = set.intersection(*sets) if len(sets) > 1 else set()
    for c in curves:
        varying = [o for o in c.overrides if o not in common]
        if len(curves) == 1 or not varying:
            c.label = str(c.folder)
        else:
            c.label = " ".join(varying)
    labels = [c.label for c in curves]
    for c in curves:  # two runs with the same overrides: tell them apart by folder
        if labels.count(c.label) > 1:
            c.label = f"{c.label} ({c.folder})" if c.label != str(c.folder) else c.label


def collect_curves(paths: list[str]) -> tuple[list[Curves], list[str]]:
    """The curves of every run named in ``paths`` (a run folder, or a folder of runs such
    as a sweep), and a note for each run that logged nothing."""
    folders: list[Path] = []
    for p in paths:
        path = Path(p)
        if not path.is_dir():
            raise UserError(f"{p} is not a folder; name run folders or sweep folders")
        found = _walk(path, DEPTH)
        if not found:
            raise UserError(
                f"{p} holds no run (no result.json or .hydra/ in it or below); name a run "
                "folder (outputs/DATE/TIME) or a sweep folder (multirun/DATE/TIME)"
            )
        folders += [f for f in found if f not in folders]
    curves, notes = [], []
    for f in folders:
        c = read_curves(f)
        if c.empty():
            notes.append(f"{f}: no metrics logged yet (metrics.jsonl empty or missing); left out")
        else:
            curves.append(c)
    if curves:
        label_runs(curves)
    return curves, notes


def draw(curves: list[Curves], title: str | None = None) -> bytes:
    """A PNG: the loss (left) and the metric (right) against the step; train lines solid,
    validation dashed with markers, one colour per run."""
    try:
        import matplotlib
    except ImportError:
        raise UserError(
            "gradkit plot needs matplotlib, which is not installed: pip install 'gradkit[plots]'"
        ) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = sorted({c.metric_name for c in curves})
    fig, (ax_loss, ax_metric) = plt.subplots(1, 2, figsize=(11, 4.2))
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for i, c in enumerate(curves):
        color = colors[i % len(colors)]
        for ax, train, val in (
            (ax_loss, c.train_loss, c.val_loss),
            (ax_metric, c.train_metric, c.val_metric),
        ):
            if train:
                ax.plot(*zip(*train), color=color, lw=1.2, alpha=0.8, label=f"{c.label} train")
            if val:
                ax.plot(
                    *zip(*val),
                    color=color,
                    lw=1.6,
                    ls="--",
                    marker="o",
                    ms=3,
                    label=f"{c.label} val",
                )
    ax_loss.set_title("loss")
    ax_metric.set_title(" / ".join(names))
    for ax in (ax_loss, ax_metric):
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    if all(v > 0 for c in curves for _, v in c.train_loss + c.val_loss):
        ax_loss.set_yscale("log")
    handles, labels = ax_loss.get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        loc="lower center",
        ncol=min(4, max(1, len(labels))),
        fontsize="small",
        frameon=False,
    )
    rows = -(-len(labels) // 4)
    fig.tight_layout(rect=(0, min(0.45, 0.06 * rows + 0.02), 1, 0.95 if title else 1))
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def sparkline(values: list[float], width: int = 40) -> str:
    """``values`` as a line of block characters (resampled to at most ``width``)."""
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return ""
    if len(vals) > width:
        vals = [vals[int(i * len(vals) / width)] for i in range(width - 1)] + [vals[-1]]
    lo, hi = min(vals), max(vals)
    if hi - lo <= 1e-12 * max(1.0, abs(hi)):
        return _BARS[3] * len(vals)
    return "".join(_BARS[min(7, int((v - lo) / (hi - lo) * 8))] for v in vals)
