"""A corpus of bad data files and checkpoints, each made in tmp_path and given to the real
``gradkit`` command: every one must exit 2 with one ``gradkit: error:`` line on stderr naming the
file (and the row and column where there is one), no traceback, and never a hint to
load pickles."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from .helpers import gradkit

Maker = Callable[[Path], None]


def _text(name: str, content: str) -> Maker:
    return lambda d: (d / name).write_text(content, encoding="utf-8")


def _bytes(name: str, content: bytes) -> Maker:
    return lambda d: (d / name).write_bytes(content)


def _csv_rows(n: int, cell: Callable[[int], str]) -> str:
    """A CSV of ``n`` rows a,b,label whose column b at row i (1-based data row) is cell(i)."""
    return "a,b,label\n" + "".join(f"{i},{cell(i)},{i % 2}\n" for i in range(1, n + 1))


def _npz(name: str, **arrays: object) -> Maker:
    def make(d: Path) -> None:
        np.savez(d / name, **arrays)  # object arrays are pickled, as np.savez does

    return make


def _truncated_npz(d: Path) -> None:
    np.savez(d / "d.npz", x=np.ones((50, 3)), y=np.arange(50) % 2)
    raw = (d / "d.npz").read_bytes()
    (d / "d.npz").write_bytes(raw[: len(raw) // 2])


def _zip_with_text_member(d: Path) -> None:
    with zipfile.ZipFile(d / "d.npz", "w") as z:
        z.writestr("x", "1,2,3")
        z.writestr("y.npy", b"")


def _corrupt_member(d: Path) -> None:
    np.savez(d / "d.npz", x=np.ones((20, 3)), y=np.arange(20) % 2)
    raw = bytearray((d / "d.npz").read_bytes())
    raw[200:260] = b"\xff" * 60  # inside x.npy's data: the member's CRC no longer matches
    (d / "d.npz").write_bytes(bytes(raw))


def _ok_x(n: int = 20, f: int = 3) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((n, f))


_X_1E300 = np.where(np.arange(60).reshape(20, 3) == 40, 1e300, 1.0)  # at index (13, 1)
CSV = ("data=csv", "data.path=d.csv")
NPZ = ("data=npz", "data.path=d.npz")

# (id, file maker, extra arguments, the file's name as the message must show it, text)
CASES: list[tuple[str, Maker, tuple[str, ...], str, str]] = [
    # -- encodings and binary files
    (
        "csv-latin1",
        _bytes("d.csv", b"a,b,label\n1,2,0\ncaf\xe9,3,1\n"),
        CSV,
        "d.csv",
        "row 3: byte 0xe9 is not UTF-8 text",
    ),
    (
        "csv-latin1-header",
        _bytes("d.csv", b"a,\xe9t\xe9,label\n1,2,0\n"),
        CSV,
        "d.csv",
        "row 1: byte 0xe9 is not UTF-8",
    ),
    (
        "csv-latin1-late",
        _bytes("d.csv", _csv_rows(300, str).encode() + b"7,\xb5,1\n"),
        CSV,
        "d.csv",
        "row 302: byte 0xb5 is not UTF-8",
    ),
    (
        "csv-utf16-bom",
        _bytes("d.csv", _csv_rows(5, str).encode("utf-16")),
        CSV,
        "d.csv",
        "the file is UTF-16 text",
    ),
    (
        "csv-utf16-no-bom",
        _bytes("d.csv", _csv_rows(5, str).encode("utf-16-le")),
        CSV,
        "d.csv",
        "NUL bytes",
    ),
    (
        "csv-utf32",
        _bytes("d.csv", _csv_rows(5, str).encode("utf-32")),
        CSV,
        "d.csv",
        "UTF-32 text",
    ),
    (
        "csv-binary-garbage",
        _bytes("d.csv", bytes(np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8))),
        CSV,
        "d.csv",
        "NUL bytes",
    ),
    (
        "csv-binary-no-nul",
        _bytes("d.csv", bytes(np.random.default_rng(2).integers(128, 256, 400, dtype=np.uint8))),
        CSV,
        "d.csv",
        "is not UTF-8 text",
    ),
    ("csv-is-a-png", _bytes("d.csv", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), CSV, "d.csv", "binary"),
    # -- cells
    (
        "csv-huge-number-cell",
        _text("d.csv", "a,b,label\n1,2,0\n3," + "9" * 200_000 + ",1\n"),
        CSV,
        "d.csv",
        "row 3: a cell is longer than 131072 characters",
    ),
    (
        "csv-huge-text-cell",
        _text("d.csv", "a,b,label\n1,2,0\n3," + "x" * 200_000 + ",1\n"),
        CSV,
        "d.csv",
        "row 3: a cell is longer than 131072 characters",
    ),
    (
        "csv-huge-header-cell",
        _text("d.csv", "a," + "b" * 200_000 + ",label\n1,2,0\n"),
        CSV,
        "d.csv",
        "row 1: a cell is longer than 131072 characters",
    ),
    (
        "csv-unclosed-quote",
        _text("d.csv", 'a,b,label\n1,2,0\n3,"4,1\n5,6,0\n'),
        CSV,
        "d.csv",
        'row 3: a " quote opened in this row is not closed on it (the cell runs on to row 4)',
    ),
    (
        "csv-duplicate-target",
        _text("d.csv", "a,label,c,label\n1,0,2,1\n2,1,3,0\n3,0,4,1\n"),
        CSV,
        "d.csv",
        "columns 2 and 4 are both named 'label'",
    ),
    (
        "csv-duplicate-feature",
        _text("d.csv", "a,a,label\n1,0,1\n2,1,0\n"),
        CSV,
        "d.csv",
        "columns 1 and 2 are both named 'a'",
    ),
    (
        "csv-duplicate-unnamed",
        _text("d.csv", ",,label\n1,0,1\n2,1,0\n"),
        CSV,
        "d.csv",
        "columns 1 and 2 are both unnamed",
    ),
    (
        "csv-1e300-feature",
        _text("d.csv", _csv_rows(30, lambda i: "1e300" if i == 17 else str(i))),
        CSV,
        "d.csv",
        "row 18, column 'b': 1e300 is too large to train on in float32",
    ),
    (
        "csv-3e38-feature",
        _text("d.csv", _csv_rows(30, lambda i: "3e38" if i == 4 else str(i))),
        CSV,
        "d.csv",
        "row 5, column 'b': 3e38 is too large to train on in float32",
    ),
    (
        "csv-negative-1e300",
        _text("d.csv", _csv_rows(30, lambda i: "-1e300" if i == 30 else str(i))),
        CSV,
        "d.csv",
        "row 31, column 'b': -1e300 is too large",
    ),
    (
        "csv-3e38-target",
        _text("d.csv", "a,y\n" + "".join(f"{i},{3e38 if i == 9 else i / 2}\n" for i in range(40))),
        (*CSV, "data.target=y"),
        "d.csv",
        "row 11, column 'y': 3e+38 is too large",
    ),
    (
        "csv-underscore",
        _text("d.csv", _csv_rows(10, lambda i: "1_000" if i == 3 else str(i))),
        CSV,
        "d.csv",
        "row 4, column 'b': '1_000' is not a number (gradkit does not read digit separators); "
        "write it as 1000",
    ),
    (
        "csv-thousands-comma",
        _text("d.csv", 'a,b,label\n1,"1,000",0\n2,3,1\n'),
        CSV,
        "d.csv",
        "row 2, column 'b': '1,000' is not a number",
    ),
    (
        "csv-hex",
        _text("d.csv", _csv_rows(10, lambda i: "0x10" if i == 2 else str(i))),
        CSV,
        "d.csv",
        "row 3, column 'b': '0x10' is not a number",
    ),
    (
        "csv-comment-is-data",
        _text("d.csv", "a,b,label\n1,2,0\n# a comment\n3,4,1\n"),
        CSV,
        "d.csv",
        "row 3: 1 cells where the header has 3 columns",
    ),
    (
        "csv-empty-cell",
        _text("d.csv", "a,b,label\n1,2,0\n,3,1\n"),
        CSV,
        "d.csv",
        "row 3, column 'a': '' is not a number",
    ),
    # the clear-message cases gradkit already had
    (
        "csv-non-numeric",
        _text("d.csv", "a,b,label\n1,2,0\n3,x,1\n"),
        CSV,
        "d.csv",
        "row 3, column 'b': 'x' is not a number",
    ),
    (
        "csv-non-numeric-late",
        _text("d.csv", _csv_rows(5000, lambda i: "oops" if i == 4321 else str(i))),
        CSV,
        "d.csv",
        "row 4322, column 'b': 'oops' is not a number",
    ),
    (
        "csv-nan",
        _text("d.csv", "a,b,label\n1,2,0\n3,nan,1\n"),
        CSV,
        "d.csv",
        "row 3, column 'b': nan is not a finite number",
    ),
    (
        "csv-inf-target",
        _text("d.csv", "a,b,label\n1,2,0\n3,4,inf\n"),
        CSV,
        "d.csv",
        "row 3, column 'label': inf is not a finite number",
    ),
    (
        "csv-no-target",
        _text("d.csv", "a,b,y\n1,2,0\n3,4,1\n"),
        CSV,
        "d.csv",
        "no target column 'label'; the columns are: a, b, y",
    ),
    (
        "csv-short-row",
        _text("d.csv", "a,b,label\n1,2,0\n3,4\n"),
        CSV,
        "d.csv",
        "row 3: 2 cells where the header has 3 columns",
    ),
    (
        "csv-long-row",
        _text("d.csv", "a,b,label\n1,2,0\n3,4,5,6\n"),
        CSV,
        "d.csv",
        "row 3: 4 cells where the header has 3 columns",
    ),
    ("csv-empty", _text("d.csv", ""), CSV, "d.csv", "the file is empty"),
    ("csv-blank-lines", _text("d.csv", "\n\n\n"), CSV, "d.csv", "the file is empty"),
    ("csv-header-only", _text("d.csv", "a,b,label\n"), CSV, "d.csv", "only a header row, no data"),
    (
        "csv-only-target",
        _text("d.csv", "label\n0\n1\n0\n1\n"),
        CSV,
        "d.csv",
        "no feature columns besides the target 'label'",
    ),
    (
        "csv-semicolons",
        _text("d.csv", "a;b;label\n1;2;0\n3;4;1\n"),
        CSV,
        "d.csv",
        "The columns look separated by semicolon: set data.delimiter=semicolon",
    ),
    (
        "csv-tabs",
        _text("d.csv", "a\tb\tlabel\n1\t2\t0\n3\t4\t1\n"),
        CSV,
        "d.csv",
        "The columns look separated by tab: set data.delimiter=tab",
    ),
    (
        "csv-single-class",
        _text("d.csv", "a,label\n" + "".join(f"{i},0\n" for i in range(20))),
        CSV,
        "d.csv",
        "needs at least 2 classes, but every label is 0.0",
    ),
    (
        "csv-binary-with-3-labels",
        _text("d.csv", "a,label\n" + "".join(f"{i},{i % 3}\n" for i in range(30))),
        (*CSV, "data.task=binary"),
        "d.csv",
        "a binary task needs exactly 2 label values, found 3",
    ),
    (
        "csv-too-few-rows",
        _text("d.csv", "a,label\n1,0\n2,1\n"),
        CSV,
        "d.csv",
        "2 samples are too few for val_fraction=0.2",
    ),
    ("csv-missing-file", lambda d: None, ("data=csv", "data.path=nope.csv"), "nope.csv", "no such"),
    (
        "csv-folder",
        lambda d: (d / "folder.csv").mkdir(),
        ("data=csv", "data.path=folder.csv"),
        "folder.csv",
        "is a folder, not a CSV file",
    ),
    # -- NPZ
    (
        "npz-is-npy",
        lambda d: np.save(d / "d.npy", _ok_x()),
        ("data=npz", "data.path=d.npy"),
        "d.npy",
        "this is a .npy file (one array), not an .npz archive",
    ),
    (
        "npz-is-npy-named-npz",
        lambda d: np.save(d / "d.npz.npy", np.array([object(), 1], dtype=object)),
        ("data=npz", "data.path=d.npz.npy"),
        "d.npz.npy",
        "this is a .npy file",
    ),
    ("npz-truncated", _truncated_npz, NPZ, "d.npz", "damaged or truncated"),
    ("npz-not-a-zip", _text("d.npz", "x,y\n1,2\n"), NPZ, "d.npz", "not an .npz file"),
    ("npz-empty-file", _bytes("d.npz", b""), NPZ, "d.npz", "not an .npz file"),
    (
        "npz-object-member",
        _npz("d.npz", x=np.array([[1, "a"], [2, None]], dtype=object), y=np.array([0, 1])),
        NPZ,
        "d.npz",
        "array 'x' holds Python objects, which gradkit does not load",
    ),
    (
        "npz-text-member",
        _zip_with_text_member,
        NPZ,
        "d.npz",
        "member 'x' is not a numpy array",
    ),
    ("npz-corrupt-member", _corrupt_member, NPZ, "d.npz", "array 'x' is damaged"),
    (
        "npz-zero-features",
        _npz("d.npz", x=np.zeros((20, 0)), y=np.arange(20) % 2),
        NPZ,
        "d.npz",
        "'x' has no feature columns (shape [20, 0])",
    ),
    (
        "npz-no-samples",
        _npz("d.npz", x=np.zeros((0, 3)), y=np.zeros(0)),
        NPZ,
        "d.npz",
        "'x' has no samples",
    ),
    (
        "npz-0d-target",
        _npz("d.npz", x=_ok_x(), y=np.array(1.0)),
        NPZ,
        "d.npz",
        "'y' must be 1-D (one target per sample) or 2-D (samples x outputs), got shape []",
    ),
    (
        "npz-3d-target",
        _npz("d.npz", x=_ok_x(), y=np.zeros((20, 2, 2))),
        NPZ,
        "d.npz",
        "got shape [20, 2, 2]",
    ),
    (
        "npz-1e300-x",
        _npz("d.npz", x=_X_1E300, y=np.arange(20) % 2),
        NPZ,
        "d.npz",
        "'x' has 1e+300, too large to train on in float32 (the limit is 1e19 in magnitude; "
        "rescale it first) at index (13, 1)",
    ),
    (
        "npz-3e38-y",
        _npz("d.npz", x=_ok_x(), y=np.where(np.arange(20) == 7, 3e38, 0.5 * np.arange(20))),
        NPZ,
        "d.npz",
        "'y' has 3e+38, too large to train on in float32 (the limit is 1e19 in magnitude; "
        "rescale it first) at index (7,)",
    ),
    (
        "npz-strings",
        _npz("d.npz", x=np.array([["a", "b"], ["c", "d"]]), y=np.array([0, 1])),
        NPZ,
        "d.npz",
        "array 'x' holds <U1 values; it must hold numbers",
    ),
    (
        "npz-complex",
        _npz("d.npz", x=_ok_x().astype(complex), y=np.arange(20) % 2),
        NPZ,
        "d.npz",
        "holds complex128 values",
    ),
    (
        "npz-1d-x",
        _npz("d.npz", x=np.ones(20), y=np.arange(20) % 2),
        NPZ,
        "d.npz",
        "'x' must be a 2-D (samples x features) array, got shape [20]",
    ),
    # the clear-message cases gradkit already had
    (
        "npz-missing-key",
        _npz("d.npz", features=np.zeros((4, 2)), y=np.zeros(4)),
        NPZ,
        "d.npz",
        "no array named 'x'; the file holds: features, y",
    ),
    ("npz-empty-archive", _npz("d.npz"), NPZ, "d.npz", "no array named 'x'; the file holds: no"),
    (
        "npz-length-mismatch",
        _npz("d.npz", x=np.ones((3, 2)), y=np.ones(4)),
        NPZ,
        "d.npz",
        "'x' has 3 samples but 'y' has 4",
    ),
    (
        "npz-nan",
        _npz("d.npz", x=np.array([[1.0, np.nan]] * 5), y=np.arange(5) % 2),
        NPZ,
        "d.npz",
        "'x' has a non-finite value at index (0, 1)",
    ),
    (
        "npz-missing-file",
        lambda d: None,
        ("data=npz", "data.path=nope.npz"),
        "nope.npz",
        "data.path: no such file",
    ),
]


_GOOD_META = '{"format": 1, "state": {}, "param_groups": [], "position": {"step": 1, "micro": 1}}'


def _checkpoint(npz: bytes | None = None, meta: str = _GOOD_META, **arrays: object) -> Maker:
    """A run folder ``run/`` with a checkpoint.npz: raw bytes, or the arrays plus the
    ``meta`` record, truncated to half when ``npz`` is b'half'."""

    def make(d: Path) -> None:
        (d / "run").mkdir()
        path = d / "run" / "checkpoint.npz"
        if npz is not None and npz != b"half":
            path.write_bytes(npz)
            return
        np.savez(path, meta=np.frombuffer(meta.encode(), dtype=np.uint8), **arrays)
        if npz == b"half":
            raw = path.read_bytes()
            path.write_bytes(raw[: len(raw) // 2])

    return make


RESUME = ("resume=run",)
CASES += [
    (
        "checkpoint-not-a-zip",
        _checkpoint(b"garbage"),
        RESUME,
        "checkpoint.npz",
        "not a readable checkpoint (truncated or corrupt",
    ),
    (
        "checkpoint-truncated",
        _checkpoint(b"half", **{"param/fc1.weight": np.ones((64, 20))}),
        RESUME,
        "checkpoint.npz",
        "not a readable checkpoint (truncated or corrupt",
    ),
    (
        "checkpoint-object-array",
        _checkpoint(None, **{"opt/0/exp_avg": np.array([None, 1], dtype=object)}),
        RESUME,
        "checkpoint.npz",
        "holds Python objects",
    ),
    (
        "checkpoint-meta-garbage",
        _checkpoint(None, meta="{not json", x=np.ones(2)),
        RESUME,
        "checkpoint.npz",
        "its 'meta' record is not valid JSON",
    ),
    (
        "checkpoint-meta-incomplete",
        _checkpoint(None, meta="{}", x=np.ones(2)),
        RESUME,
        "checkpoint.npz",
        "its 'meta' record has an unknown format",
    ),
    (
        "checkpoint-missing",
        lambda d: (d / "run").mkdir(),
        RESUME,
        "resume=run",
        "no checkpoint there",
    ),
]


@pytest.mark.parametrize(
    ("make", "args", "name", "expected"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_bad_file_gets_one_clear_line(
    tmp_path: Path, make: Maker, args: tuple[str, ...], name: str, expected: str
) -> None:
    make(tmp_path)
    p = gradkit("train", *args, "loop.epochs=1", "loop.progress=none", cwd=tmp_path)
    both = p.stdout + p.stderr
    assert p.returncode == 2, both
    assert "Traceback" not in both and "allow_pickle" not in both, both
    assert "Warning" not in both, both  # no numpy RuntimeWarning or UserWarning leaks
    errors = [line for line in p.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, p.stderr
    assert errors[0].startswith("gradkit: error: "), p.stderr
    assert name in errors[0], errors[0]
    assert expected in " ".join(errors[0].split()), errors[0]
