"""The report of a comparison: ``report.json`` (every number), ``report.md`` (agreement,
time per step per mode against autograd, where the modes diverge) and ``curves.png``
(loss per mode and gradient difference per step, when matplotlib is installed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..runtime.files import write_text
from .compare import Comparison

__all__ = ["summary_rows", "write_json", "write_markdown", "plot_curves"]


def summary_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """One row per mode: final loss, worst gradient differences, mean times, ratio."""
    ref = cmp.modes["autograd"].ms_per_step()
    rows = []
    for mode, tr in cmp.modes.items():
        worst_abs = max((max(v) for v in tr.abs_diff.values() if v), default=0.0)
        worst_rel = max((max(v) for v in tr.rel_diff.values() if v), default=0.0)
        ms = tr.ms_per_step()
        rows.append(
            {
                "mode": mode,
                "model": tr.model_class,
                "final_loss": tr.loss[-1] if tr.loss else float("nan"),
                "max_abs_grad_diff": worst_abs,
                "max_rel_grad_diff": worst_rel,
                "forward_ms": float(np.mean(tr.forward_ms)),
                "backward_ms": float(np.mean(tr.backward_ms)),
                "step_ms": float(np.mean(tr.step_ms)),
                "ms_per_step": ms,
                "vs_autograd": ms / ref if ref > 0 else float("nan"),
            }
        )
        if cmp.compiled:
            cms = tr.compiled_ms_per_step()
            rows[-1].update(
                compiled_ms_per_step=cms,
                compiled_vs_eager=cms / ms if ms > 0 else float("nan"),
                compiled_identical=tr.compiled_identical,
                compiled_reason=tr.compiled_reason,
                compiled_graph_reason=tr.compiled_graph_reason,
            )
    return rows


def write_json(cmp: Comparison, path: Path, meta: dict) -> None:
    doc = {
        "meta": meta,
        "steps": cmp.steps,
        "tolerance": {"atol": cmp.atol, "rtol": cmp.rtol},
        "agree": cmp.agree,
        "summary": summary_rows(cmp),
        "disagreements": [
            {"mode": m, "param": p, "first_step": first, "max_abs_diff": worst, "at_step": at}
            for (m, p), (first, worst, at) in cmp.by_first_step()
        ],
        "per_parameter": {
            mode: {
                p: {
                    "max_abs_diff": max(tr.abs_diff[p], default=0.0),
                    "max_rel_diff": max(tr.rel_diff[p], default=0.0),
                }
                for p in cmp.params
            }
            for mode, tr in cmp.modes.items()
        },
        "trace": {
            mode: {
                "loss": tr.loss,
                "forward_ms": tr.forward_ms,
                "backward_ms": tr.backward_ms,
                "step_ms": tr.step_ms,
                "abs_diff": tr.abs_diff,
                "rel_diff": tr.rel_diff,
                **(
                    {"compiled_loss": tr.compiled_loss, "compiled_ms": tr.compiled_ms}
                    if cmp.compiled
                    else {}
                ),
            }
            for mode, tr in cmp.modes.items()
        },
    }
    write_text(path, json.dumps(doc, indent=1))


def _g(v: float) -> str:
    return f"{v:.3g}"


def write_markdown(cmp: Comparison, path: Path, meta: dict, picture: str | None) -> None:
    rows = summary_rows(cmp)
    lines = [
        f"# gradkit compare: {meta.get('model', '')} on {meta.get('data', '')}",
        "",
        f"{cmp.steps} steps of {meta.get('optimizer', '')} on {meta.get('device', '')}, every "
        "mode from the same parameters on the same batches. A gradient agrees with autograd's "
        f"when max|g - g_autograd| <= {cmp.atol:g} + {cmp.rtol:g} * max|g_autograd|.",
        "",
        "## Agreement",
        "",
    ]
    if cmp.agree:
        lines.append("**All modes agree with autograd** at every step and for every parameter.")
    else:
        lines.append(
            "**The modes disagree** (earliest first: the first is the cause; later "
            "ones can be its effect, as each mode trains its own parameters):"
        )
        lines.append("")
        for (m, p), (first, worst, at) in cmp.by_first_step():
            lines.append(
                f"- `{m}`: `{p}` from step {first} (largest difference {_g(worst)} at step {at})"
            )
    lines += [
        "",
        "| mode | model | final loss | max abs grad diff | max rel grad diff |",
        "|---|---|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['model']} | {_g(r['final_loss'])} | "
            f"{_g(r['max_abs_grad_diff'])} | {_g(r['max_rel_grad_diff'])} |"
        )
    lines += [
        "",
        "## Time per step",
        "",
        "| mode | forward ms | backward ms | optimizer ms | total ms | vs autograd |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['forward_ms']:.3f} | {r['backward_ms']:.3f} | "
            f"{r['step_ms']:.3f} | {r['ms_per_step']:.3f} | {r['vs_autograd']:.2f}x |"
        )
    if cmp.compiled:
        lines += _compiled_section(rows)
    lines += [
        "",
        "## Per parameter (largest differences from autograd over all steps)",
        "",
        "| mode | parameter | max abs diff | max rel diff |",
        "|---|---|---:|---:|",
    ]
    for mode, tr in cmp.modes.items():
        if mode == "autograd":
            continue
        for p in cmp.params:
            lines.append(
                f"| {mode} | `{p}` | {_g(max(tr.abs_diff[p], default=0.0))} | "
                f"{_g(max(tr.rel_diff[p], default=0.0))} |"
            )
    if picture:
        lines += ["", f"![loss and gradient difference per step]({picture})"]
    write_text(path, "\n".join(lines) + "\n")


def _compiled_section(rows: list[dict[str, Any]]) -> list[str]:
    """Eager against compiled (``loop.compile``): time per step and bit-identity."""
    lines = [
        "",
        "## Eager and compiled",
        "",
        "Each mode's step (forward, backward, optimizer step) also ran captured "
        "(`gradkit.compile_step`) on a copy of its model from the same start; its time is "
        "the mean of the replayed steps (the first two calls of each batch shape are "
        "recorded). Bit-identical: every loss and the final parameters equal the eager "
        "mode's.",
        "",
        "| mode | eager ms | compiled ms | compiled vs eager | bit-identical |",
        "|---|---:|---:|---:|---|",
    ]
    for r in rows:
        same = "yes" if r["compiled_identical"] else "**no**"
        lines.append(
            f"| {r['mode']} | {r['ms_per_step']:.3f} | {r['compiled_ms_per_step']:.3f} | "
            f"{r['compiled_vs_eager']:.2f}x | {same} |"
        )
    for r in rows:
        if r["compiled_reason"] is not None:
            lines.append("")
            lines.append(f"`{r['mode']}` ran eagerly: {r['compiled_reason']}")
        elif r.get("compiled_graph_reason") is not None:
            lines.append("")
            why = r["compiled_graph_reason"]
            lines.append(f"`{r['mode']}` replayed without a CUDA graph: {why}")
    return lines


def plot_curves(cmp: Comparison, path: Path, title: str) -> bool:
    """Draw ``curves.png``; False (and nothing written) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    steps = np.arange(1, cmp.steps + 1)
    styles = {"autograd": "-", "function": "--", "manual": ":"}
    for mode, tr in cmp.modes.items():
        ax1.plot(steps, tr.loss, styles.get(mode, "-"), label=mode, linewidth=1.6)
    ax1.set_xlabel("step")
    ax1.set_ylabel("training loss")
    ax1.set_title("loss per mode")
    ax1.legend()
    lowest = cmp.atol
    for mode, tr in cmp.modes.items():
        if mode == "autograd":
            continue
        worst = np.max(np.array([tr.abs_diff[p] for p in cmp.params]), axis=0)
        if not np.any(worst > 0):  # nothing to draw on a log scale: say so in the legend
            ax2.plot([], [], styles.get(mode, "-"), label=f"{mode}: identical to autograd")
            continue
        lowest = min(lowest, float(np.min(worst[worst > 0])))
        ax2.plot(
            steps,
            np.where(worst > 0, worst, np.nan),
            styles.get(mode, "-"),
            label=f"{mode} vs autograd",
        )
    ax2.set_yscale("log")
    ax2.set_ylim(lowest / 10, cmp.atol * 10)
    ax2.axhline(cmp.atol, color="grey", linewidth=0.8, linestyle="-.", label="atol")
    ax2.set_xlabel("step")
    ax2.set_ylabel("max |grad - autograd grad|")
    ax2.set_title("gradient difference per step")
    ax2.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
