"""``repr(tensor)`` laid out as PyTorch lays it out, so outputs can be compared by eye.

Four decimals; integers-valued floats as ``1.``; scientific notation when the
values span more than three orders of magnitude; summaries (``...``) past
1,000 elements; ``grad_fn=<...>``, ``requires_grad=True``, non-default
``dtype=`` and ``device=`` suffixes.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["format_tensor", "set_printoptions"]


class _Opts:
    precision = 4
    threshold = 1000
    edgeitems = 3
    linewidth = 80
    sci_mode: bool | None = None


def set_printoptions(
    precision: int | None = None,
    threshold: int | None = None,
    edgeitems: int | None = None,
    linewidth: int | None = None,
    sci_mode: bool | None = None,
) -> None:
    """Change how tensors print (``torch.set_printoptions``)."""
    for name, v in (
        ("precision", precision),
        ("threshold", threshold),
        ("edgeitems", edgeitems),
        ("linewidth", linewidth),
    ):
        if v is not None:
            setattr(_Opts, name, v)
    _Opts.sci_mode = sci_mode


def _flat(v: Any) -> list:
    if not isinstance(v, list):
        return [v]
    out: list = []
    for x in v:
        out.extend(_flat(x))
    return out


def _summarized(v: Any) -> Any:
    """The edge items along every dimension (what a summary shows)."""
    e = _Opts.edgeitems
    if not isinstance(v, list):
        return v
    if len(v) > 2 * e:
        v = v[:e] + v[-e:]
    return [_summarized(x) for x in v]


class _Formatter:
    def __init__(self, values: list, floating: bool) -> None:
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        p = _Opts.precision
        if not floating:
            for v in values:
                self.width = max(self.width, len(str(v)))
            return
        finite = [float(v) for v in values if math.isfinite(v) and v != 0]
        if finite:
            lo = min(abs(v) for v in finite)
            hi = max(abs(v) for v in finite)
            self.int_mode = all(v == math.ceil(v) for v in finite)
            if self.int_mode:
                self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8
                fmt = (lambda v: f"{v:.{p}e}") if self.sci_mode else (lambda v: f"{v:.0f}.")
            else:
                self.sci_mode = hi / lo > 1000.0 or hi > 1.0e8 or lo < 1.0e-4
                fmt = (lambda v: f"{v:.{p}e}") if self.sci_mode else (lambda v: f"{v:.{p}f}")
            for v in finite:
                self.width = max(self.width, len(fmt(v)))
        if _Opts.sci_mode is not None:
            self.sci_mode = _Opts.sci_mode

    def format(self, v: Any) -> str:
        p = _Opts.precision
        if self.floating:
            if self.sci_mode:
                s = f"{v:{self.width}.{p}e}"
            elif self.int_mode:
                s = f"{v:.0f}"
                if not (math.isinf(v) or math.isnan(v)):
                    s += "."
            else:
                s = f"{v:.{p}f}"
        else:
            s = str(v)
        return " " * (self.width - len(s)) + s


def _vector(a: list, indent: int, summarize: bool, f: _Formatter) -> str:
    per_line = max(1, math.floor((_Opts.linewidth - indent) / (f.width + 2)))
    e = _Opts.edgeitems
    if summarize and len(a) > 2 * e:
        data = [f.format(v) for v in a[:e]] + [" ..."] + [f.format(v) for v in a[-e:]]
    else:
        data = [f.format(v) for v in a]
    lines = [", ".join(data[i : i + per_line]) for i in range(0, len(data), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _nested(a: Any, ndim: int, indent: int, summarize: bool, f: _Formatter) -> str:
    if ndim == 0:
        return f.format(a)
    if ndim == 1:
        return _vector(a, indent, summarize, f)
    e = _Opts.edgeitems
    n = len(a)
    if summarize and n > 2 * e:
        rows = [_nested(a[i], ndim - 1, indent + 1, summarize, f) for i in range(e)] + ["..."]
        rows += [_nested(a[i], ndim - 1, indent + 1, summarize, f) for i in range(n - e, n)]
    else:
        rows = [_nested(r, ndim - 1, indent + 1, summarize, f) for r in a]
    return "[" + ("," + "\n" * (ndim - 1) + " " * (indent + 1)).join(rows) + "]"


def format_tensor(t: Any) -> str:
    """The text ``repr(t)`` shows."""
    from ..backend import get_default_dtype

    prefix = "tensor("
    indent = len(prefix)
    shape = t._data.shape
    values = t._be.to_numpy(t._data).tolist()
    dt = t.dtype
    suffixes = []
    if t.device.type != "cpu":
        suffixes.append(f"device='{t.device}'")
    if 0 in shape:
        body = "[]"
        if len(shape) != 1:
            suffixes.append(f"size={tuple(shape)}")
    else:
        summarize = t.numel() > _Opts.threshold
        f = _Formatter(_flat(_summarized(values) if summarize else values), dt.is_floating_point)
        body = _nested(values, len(shape), indent, summarize, f)
    # int64 and bool show in the values, except when there are none
    if dt is not get_default_dtype() and (dt.name not in ("int64", "bool") or 0 in shape):
        suffixes.append(f"dtype={dt!r}")
    if t.grad_fn is not None:
        suffixes.append(f"grad_fn=<{t.grad_fn.name()}>")
    elif t._rg:
        suffixes.append("requires_grad=True")
    out = [prefix + body]
    last = len(out[0]) - out[0].rfind("\n") + 1
    for s in suffixes:
        if last + len(s) + 2 > _Opts.linewidth:
            out.append(",\n" + " " * indent + s)
            last = indent + len(s)
        else:
            out.append(", " + s)
            last += len(s) + 2
    out.append(")")
    return "".join(out)
