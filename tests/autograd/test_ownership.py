"""autograd/ owns the graph's bookkeeping: built-in ops see ``ctx.needs_input_grad`` as
user Functions do, and no module outside it edits a node's or tensor's graph fields."""

from __future__ import annotations

import re
from pathlib import Path

import gradkit

PACKAGE = Path(gradkit.__file__).resolve().parent
_GRAPH_FIELDS = re.compile(r"\.(grad_fn|_rg|_oshape|_odtype|_ometa|_output_nr)\s*=[^=]|_versions")


def test_built_in_ops_get_needs_input_grad() -> None:
    a = gradkit.ones(2, 3, requires_grad=True)
    b = gradkit.ones(3)
    assert (a * b).grad_fn.needs_input_grad == (True, False)
    assert (b * a).grad_fn.needs_input_grad == (False, True)
    assert (2.0 - a).grad_fn.needs_input_grad == (False, True)
    assert gradkit.where(b > 0, a, b).grad_fn.needs_input_grad == (False, True, False)


def test_a_broadcast_input_gets_its_own_shape_back() -> None:
    """Ops return gradients at the broadcast shape; the engine sums them back."""
    a = gradkit.ones(2, 1, 3, requires_grad=True)
    b = gradkit.full((4, 1), 2.0, requires_grad=True)
    (a * b - b / a).sum().backward()
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    assert a.grad.tolist() == [[[16.0] * 3]] * 2  # 4 rows of (b + b / a**2) = 4
    assert b.grad.tolist() == [[0.0]] * 4  # 6 columns of (a - 1 / a) = 0


def test_only_autograd_edits_graph_fields() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "autograd":
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _GRAPH_FIELDS.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{n}: {line.strip()}")
    assert not offenders, "\n".join(offenders)
