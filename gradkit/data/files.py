"""Reading data files — CSV and NPZ — with a one-line answer for every bad one.

Every problem is a ``DataError`` naming the file (and the row and column where
there is one) and what to do; nothing numpy or the csv module raises leaks
through.  What is accepted:

* CSV: UTF-8 text (a byte-order mark is fine) with a header row; the delimiter
  is one character or a name (``comma semicolon tab pipe space colon``); cells
  are decimal numbers as C's ``strtod`` reads them (``1.5``, ``-2e3``, ``.5``,
  spaces around them), never ``1_000`` or ``1,000``; cells may be quoted with
  ``"``; empty lines and lines of only spaces are skipped.
* NPZ: a zip archive written by ``np.savez`` holding a 2-D numeric feature array
  and a 1-D or 2-D numeric target array, with as many rows.
* Every value must be finite with a magnitude of at most ``MAX_ABS`` (1e19):
  the model trains in float32, whose largest value is 3.4e38, and the square of
  a larger value (in a loss or a variance) overflows it.

The CSV reader is numpy's C ``loadtxt`` straight into float32; only when it
fails does a second, streaming pass with the csv module find the exact row and
column for the message.
"""

from __future__ import annotations

import codecs
import csv
import math
import os
import re
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "MAX_ABS",
    "DELIMITER_NAMES",
    "resolve_delimiter",
    "read_table",
    "read_csv",
    "read_npz",
    "check_arrays",
]

#: the largest magnitude a value may have (its square still fits in float32)
MAX_ABS = 1e19

#: delimiter names, as typed on the command line (``data.delimiter=semicolon``)
DELIMITER_NAMES = {
    "comma": ",",
    "semicolon": ";",
    "tab": "\t",
    "\\t": "\t",
    "pipe": "|",
    "space": " ",
    "colon": ":",
}
_NAME_OF = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe", " ": "space", ":": "colon"}

#: longest cell shown in a message
_SHOW = 40


def _show(cell: str) -> str:
    cell = cell.strip()
    if len(cell) > _SHOW:
        return repr(cell[:_SHOW] + "...") + f" ({len(cell)} characters)"
    return repr(cell)


def check_path(path: str, what: str, key: str = "data.path") -> str:
    """``path`` if it is a file; otherwise a DataError saying where gradkit looked (``key``
    names the option that gave the path)."""
    if not os.path.exists(path):
        raise DataError(
            f"{key}: no such file: {path} (looked in {os.getcwd()}); give a path relative "
            f"to where you run gradkit, or an absolute one, to a {what} file"
        )
    if os.path.isdir(path):
        raise DataError(f"{key}: {path} is a folder, not a {what} file")
    return path


def resolve_delimiter(delimiter: str) -> str:
    """The one character a delimiter name (``semicolon``, ``tab``, ...) or character means."""
    d = DELIMITER_NAMES.get(str(delimiter).lower(), str(delimiter))
    if len(d) != 1 or d in '"\r\n' or d.isalnum() or d in ".-+":
        names = ", ".join(k for k in DELIMITER_NAMES if k != "\\t")
        raise DataError(
            f"data.delimiter={delimiter!r} is not a delimiter; write one character or a name: "
            f"{names} (e.g. data.delimiter=semicolon)"
        )
    return d


def _check_value(path: str, row: int, column: str, cell: str) -> str | None:
    """Why ``cell`` is not an acceptable number, or None when it is."""
    text = cell.strip()
    where = f"{path}, row {row}, column {column!r}"
    if "_" in text:
        return (
            f"{where}: {_show(cell)} is not a number (gradkit does not read digit separators); "
            f"write it as {text.replace('_', '')}"
        )
    try:
        v = float(text)
    except ValueError:
        return (
            f"{where}: {_show(cell)} is not a number; every feature and the target must be numeric"
        )
    if math.isnan(v) or math.isinf(v):
        return f"{where}: {text} is not a finite number; fill or drop the missing values first"
    if abs(v) > MAX_ABS:
        return (
            f"{where}: {text} is too large to train on in float32 (the limit is 1e19 in "
            "magnitude); rescale the column first, e.g. divide it by a power of ten or take "
            "its logarithm"
        )
    return None


# -- CSV -----------------------------------------------------------------------------------
def _sniff(path: str) -> None:
    """Refuse files that are not UTF-8 text before reading them as CSV."""
    with open(path, "rb") as f:
        head = f.read(1 << 16)
    for bom, name in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if head.startswith(bom):
            raise DataError(
                f"{path}: the file is {name} text; gradkit reads CSV files in UTF-8: save it "
                "as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8, or 'CSV UTF-8' in a spreadsheet)"
            )
    if b"\0" in head:
        raise DataError(
            f"{path}: the file holds NUL bytes: it is binary (or UTF-16/32 text), not a UTF-8 "
            "CSV file; check data.path, or save the file as UTF-8 CSV"
        )


def _encoding_error(path: str) -> DataError:
    """Where a file stops being UTF-8, as a DataError."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as f:
        for line_no, line in enumerate(f, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as e:
                byte = line[e.start : e.start + 1].hex()
                return DataError(
                    f"{path}, row {line_no}: byte 0x{byte} is not UTF-8 text; gradkit reads "
                    "CSV files in UTF-8: save the file as UTF-8 (e.g. iconv -f LATIN1 -t UTF-8, "
                    "or 'CSV UTF-8' in a spreadsheet)"
                )
    return DataError(f"{path}: the file is not UTF-8 text; save it as UTF-8")


def _rows(path: str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, cells) of every non-empty record, streamed; a csv error is a DataError."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter)
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as e:
                line = reader.line_num
                if "field larger than field limit" in str(e):
                    raise DataError(
                        f"{path}, row {line}: a cell is longer than {csv.field_size_limit()} "
                        'characters (an unclosed " quote?); every cell must be one number'
                    ) from None
                raise DataError(f"{path}, row {line}: not readable as CSV ({e})") from None
            except UnicodeDecodeError:
                raise _encoding_error(path) from None
            if row and not (len(row) == 1 and not row[0].strip()):  # skip blank lines
                yield reader.line_num, row


def _header(path: str, delimiter: str, target: str | None) -> tuple[list[str], int]:
    """The column names and the lines the header takes (``target``, when given, must be
    one of them)."""
    first = next(_rows(path, delimiter), None)
    if first is None:
        raise DataError(f"{path}: the file is empty; it needs a header row and data rows")
    line_no, raw = first
    header = [h.strip() for h in raw]
    if target is not None and target not in header:
        hint = "Set data.target to one of them"
        other = next((d for d in ";\t|, " if d != delimiter and d in raw[0].strip()), None)
        if len(header) == 1 and other is not None:
            hint = f"The columns look separated by {_NAME_OF[other]}: set data.delimiter="
            hint += _NAME_OF[other]
        shown = ", ".join(_show(h)[1:-1] if len(h) <= _SHOW else _show(h) for h in header)
        raise DataError(f"{path}: no target column {target!r}; the columns are: {shown}. {hint}")
    seen: dict[str, int] = {}
    for j, name in enumerate(header, start=1):
        if name in seen:
            label = f"named {name!r}" if name else "unnamed"
            raise DataError(
                f"{path}: columns {seen[name]} and {j} are both {label}; every column needs its "
                "own name (rename one in the header row)"
            )
        seen[name] = j
    if target is not None and len(header) < 2:
        raise DataError(f"{path}: no feature columns besides the target {target!r}")
    return header, line_no


def _find_problem(
    path: str, delimiter: str, header: list[str], data_row: int = 0
) -> DataError | None:
    """The first bad record at or after the ``data_row``-th (0-based, empty lines not
    counted), found by a streaming pass."""
    n_cols = len(header)
    rows = _rows(path, delimiter)
    next(rows)  # the header
    previous = 1
    for k, (line_no, row) in enumerate(rows):
        if any("\n" in cell or "\r" in cell for cell in row):
            return DataError(
                f'{path}, row {previous + 1}: a " quote opened in this row is not closed on it '
                f"(the cell runs on to row {line_no}); close the quote or remove it"
            )
        previous = line_no
        if len(row) != n_cols:
            return DataError(
                f"{path}, row {line_no}: {len(row)} cells where the header has {n_cols} columns"
            )
        if k < data_row:
            continue
        for j, cell in enumerate(row):
            problem = _check_value(path, line_no, header[j], cell)
            if problem:
                return DataError(problem)
    return None


def read_table(
    path: str, delimiter: str = ",", target: str | None = None, key: str = "data.path"
) -> tuple[list[str], np.ndarray]:
    """The header and every value (float32, rows x columns) of a CSV file; every problem is
    a DataError naming the row and column (``target``, when given, must be a column)."""
    check_path(path, "CSV", key)
    delimiter = resolve_delimiter(delimiter)
    _sniff(path)
    header, header_lines = _header(path, delimiter, target)
    try:
        values = _loadtxt(path, delimiter, header_lines)
    except UnicodeDecodeError:
        raise _encoding_error(path) from None
    except ValueError as e:
        m = re.search(r"at row (\d+)", str(e))
        problem = _find_problem(path, delimiter, header, int(m.group(1)) if m else 0)
        if problem is None and m:
            problem = _find_problem(path, delimiter, header, 0)
        if problem is not None:
            raise problem from None
        try:  # no bad cell: the file has lines of spaces, which the C reader does not skip
            values = _loadtxt(path, delimiter, header_lines, skip_blank=True)
        except ValueError:
            raise DataError(f"{path}: not readable as CSV: {e}") from None
    if values.shape[0] == 0:
        raise DataError(f"{path}: only a header row, no data")
    if values.shape[1] != len(header):
        raise DataError(
            f"{path}, row {header_lines + 1}: {values.shape[1]} cells where the header has "
            f"{len(header)} columns"
        )
    bad = _first_out_of_range(values)
    if bad is not None:
        raise _find_problem(path, delimiter, header, bad[0]) or DataError(
            f"{path}: data row {bad[0] + 1}, column {header[bad[1]]!r}: a value that is not "
            "finite or beyond 1e19 in magnitude"
        )
    return header, values


def read_csv(
    path: str, target: str, delimiter: str = ","
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features (float32, N x F), the target column (float32, N) and the feature names of
    a CSV file with a header row."""
    header, values = read_table(path, delimiter, target)
    t = header.index(target)
    y = values[:, t].copy()
    if t == values.shape[1] - 1:
        x = values[:, :t]
        x = np.ascontiguousarray(x)
    else:
        x = np.delete(values, t, axis=1)
    del values
    return x, y, [h for j, h in enumerate(header) if j != t]


def _loadtxt(path: str, delimiter: str, skip: int, skip_blank: bool = False) -> np.ndarray:
    """numpy's C reader into float32 after ``skip`` header lines; ``skip_blank`` also drops
    lines of only spaces (through a Python generator, so only when there are some)."""
    source: Any = path
    f = None
    if skip_blank:
        f = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        header = skip
        source = (line for i, line in enumerate(f) if i >= header and line.strip())
        skip = 0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": answered by the caller
            return np.loadtxt(
                source,
                dtype=np.float32,
                delimiter=delimiter,
                comments=None,
                skiprows=skip,
                quotechar='"',
                ndmin=2,
                encoding="utf-8",
            )
    finally:
        if f is not None:
            f.close()


def _first_out_of_range(a: np.ndarray, chunk: int = 1 << 16) -> tuple[int, ...] | None:
    """The index of the first value that is not finite or beyond ``MAX_ABS``, or None
    (chunked, so a big array needs no big temporary)."""
    flat = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
    for start in range(0, len(flat), chunk):
        block = flat[start : start + chunk]
        if block.size == 0:
            continue
        with np.errstate(all="ignore"):
            ok = block.min() >= -MAX_ABS and block.max() <= MAX_ABS
        if not ok:
            with np.errstate(all="ignore"):
                bad = ~(np.abs(block.astype(np.float64)) <= MAX_ABS)
            r, c = np.argwhere(bad)[0]
            return (start + int(r), int(c))
    return None


# -- NPZ -----------------------------------------------------------------------------------
_SAVE_HINT = "save it with np.savez(path, x=features, y=targets)"


def _open_npz(path: str) -> Any:
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic == b"\x93NUMPY":
        raise DataError(
            f"{path}: this is a .npy file (one array), not an .npz archive; data=npz needs the "
            f"features and the targets in one file: {_SAVE_HINT}"
        )
    if not magic.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise DataError(f"{path}: not an .npz file (it is not a zip archive); {_SAVE_HINT}")
    try:
        return np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise DataError(
            f"{path}: the .npz archive is damaged or truncated; {_SAVE_HINT} again"
        ) from None


def _member(path: str, f: Any, key: str) -> np.ndarray:
    if key + ".npy" not in f.zip.namelist():
        raise DataError(
            f"{path}: member {key!r} is not a numpy array (the archive holds a file {key!r}, "
            f"not {key + '.npy'!r}); {_SAVE_HINT}"
        )
    try:
        arr = f[key]
    except ValueError as e:
        if "pickle" in str(e) or "object" in str(e).lower():
            raise DataError(
                f"{path}: array {key!r} holds Python objects, which gradkit does not load (they "
                f"could run code); save numbers instead: np.savez(path, {key}=arr.astype(float))"
            ) from None
        raise DataError(f"{path}: array {key!r} is damaged; {_SAVE_HINT} again") from None
    except Exception:
        raise DataError(f"{path}: array {key!r} is damaged; {_SAVE_HINT} again") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: member {key!r} is not a numpy array; {_SAVE_HINT}")
    return arr


def read_npz(path: str, x_key: str, y_key: str) -> tuple[np.ndarray, np.ndarray]:
    """The feature matrix (float32) and targets stored in an ``.npz`` file, checked."""
    check_path(path, "NPZ")
    with _open_npz(path) as f:
        keys = list(f.files)
        missing = [k for k in (x_key, y_key) if k not in keys]
        if missing:
            held = ", ".join(keys) if keys else "nothing"
            raise DataError(
                f"{path}: no array named {missing[0]!r}; the file holds: {held}. "
                "Set data.x_key and data.y_key"
            )
        x, y = _member(path, f, x_key), _member(path, f, y_key)
    return check_arrays(path, x, y, x_key, y_key)


def check_arrays(
    where: str, x: np.ndarray, y: np.ndarray, x_name: str = "x", y_name: str = "y"
) -> tuple[np.ndarray, np.ndarray]:
    """Features (float32) and targets checked as training needs them: numbers only, ``x``
    2-D (samples x features), ``y`` 1-D or 2-D with as many rows, every value finite and
    within ``MAX_ABS``; anything else is a DataError naming ``where`` and the array."""
    for key, arr in ((x_name, x), (y_name, y)):
        if arr.dtype.kind not in "biuf":
            raise DataError(
                f"{where}: array {key!r} holds {arr.dtype} values; it must hold numbers (bool, "
                "int or float)"
            )
    if x.ndim != 2:
        raise DataError(
            f"{where}: {x_name!r} must be a 2-D (samples x features) array, got shape "
            f"{list(x.shape)}"
        )
    if x.shape[1] == 0:
        raise DataError(
            f"{where}: {x_name!r} has no feature columns (shape {list(x.shape)}); it needs at "
            "least one"
        )
    if x.shape[0] == 0:
        raise DataError(f"{where}: {x_name!r} has no samples (shape {list(x.shape)})")
    if y.ndim == 0 or y.ndim > 2 or (y.ndim == 2 and y.shape[1] == 0):
        raise DataError(
            f"{where}: {y_name!r} must be 1-D (one target per sample) or 2-D (samples x "
            f"outputs), got shape {list(y.shape)}"
        )
    if len(y) != len(x):
        raise DataError(f"{where}: {x_name!r} has {len(x)} samples but {y_name!r} has {len(y)}")
    for key, arr in ((x_name, x), (y_name, y)):
        if arr.dtype.kind != "f":
            continue
        bad = _first_out_of_range(arr)
        if bad is not None:
            pos = bad if arr.ndim == 2 else bad[:1]
            v = float(arr[pos])
            what = (
                "a non-finite value"
                if not math.isfinite(v)
                else f"{v:g}, too large to train on in float32 (the limit is 1e19 in magnitude;"
                " rescale it first)"
            )
            raise DataError(f"{where}: {key!r} has {what} at index {tuple(int(p) for p in pos)}")
    return x.astype(np.float32), y
