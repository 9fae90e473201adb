"""An op is written once: its family's ``__all__`` makes it ``gradkit.X``, ``gradkit.ops.X``
and ``x.X()``; every op class is exercised by a gradcheck case of ``gradkit/checks.py``."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import gradkit
import gradkit.ops as ops
from gradkit.autograd.function import Op
from gradkit.autograd.tensor import Tensor
from gradkit.checks import CASES, make_inputs
from gradkit.ops import tensor_methods

README = Path(__file__).resolve().parents[2] / "README.md"

#: ops no float64 gradcheck can reach on one host device (tested in tests/backend)
_NOT_IN_CATALOG = {"Cast", "DeviceCopy"}


@pytest.mark.parametrize("family", ops.FAMILIES, ids=lambda f: f.__name__.rsplit(".", 1)[-1])
def test_a_family_s_all_is_the_public_surface(family) -> None:
    for name in family.__all__:
        fn = getattr(family, name)
        assert getattr(gradkit, name) is getattr(ops, name), name
        wrapped = getattr(ops, name)
        assert getattr(wrapped, "__wrapped__", wrapped) is fn, name
        if name not in tensor_methods._NOT_METHODS:
            assert getattr(Tensor, name) is fn, name
        if name in getattr(family, "TAKES_OUT", ()):
            assert hasattr(wrapped, "__wrapped__"), f"gradkit.{name} should take out="


def test_functions_named_out_take_it() -> None:
    x = gradkit.tensor([1.0, 4.0])
    out = gradkit.empty(2)
    assert gradkit.sqrt(x, out=out) is out
    assert out.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError):
        x.sqrt(out=out)  # the methods do not, as in PyTorch


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def test_every_op_has_a_gradcheck_case() -> None:
    seen: set[type] = set()
    visited: set[int] = set()
    alive = []  # every graph stays alive, so no id is reused
    for case in CASES:
        fn, inputs = make_inputs(case)
        result = fn(*inputs)
        alive.append(result)
        stack = [o.grad_fn for o in (result if isinstance(result, tuple) else (result,))]
        while stack:
            node = stack.pop()
            if node is None or id(node) in visited:
                continue
            visited.add(id(node))
            seen.add(type(node))
            stack += [nxt for nxt, _ in node.next_functions]
    missing = [
        op.__name__
        for op in _subclasses(Op)
        if op.__module__.startswith("gradkit.ops.")
        and op._backward_cls not in seen
        and op.__name__ not in _NOT_IN_CATALOG
    ]
    assert not missing, f"ops without a gradcheck case in gradkit/checks.py: {missing}"


def test_the_readme_s_new_op_takes_one_class_and_one_case(tmp_path) -> None:
    """The "Adding an op" example of README's How it works, added as it says, in a fresh
    interpreter: it becomes gradkit.square and x.square(), and passes gradcheck."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("* **Adding an op**") :]
    example = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    example = "\n".join(line[2:] for line in example.splitlines())  # the bullet's indent
    script = tmp_path / "add_op.py"
    script.write_text(
        "import textwrap\n"
        "import gradkit.ops as ops\n"
        "from gradkit.ops import elementwise, tensor_methods\n"
        f"exec(textwrap.dedent({example!r}), vars(elementwise))\n"
        "elementwise.__all__.append('square')\n"
        "ops.__all__ = ops._gather()\n"
        "tensor_methods.install()\n"
        "import gradkit\n"
        "from gradkit.checks import Arg, case, check\n"
        "x = gradkit.tensor([1.0, -2.0, 3.0], requires_grad=True)\n"
        "assert gradkit.square(x).tolist() == x.square().tolist() == [1.0, 4.0, 9.0]\n"
        "gradkit.square(x).sum().backward()\n"
        "assert x.grad.tolist() == [2.0, -4.0, 6.0]\n"
        "assert gradkit.square(x).grad_fn.name() == 'PowBackward0'\n"
        "for s in [(4,), (3, 4), ()]:\n"
        "    result = check(case(f'square {s}', gradkit.square, Arg(s)))\n"
        "    assert result.passed, result\n"
        "print('ok')\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
