"""The op table lives in the package (``gradkit/checks.py``), shared with ``gradkit gradcheck``."""

from gradkit.checks import CASES, Arg, Case, make_inputs

__all__ = ["CASES", "Arg", "Case", "make_inputs"]
