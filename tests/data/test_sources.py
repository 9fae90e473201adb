"""Data sources, checks, splits, scaling and batches (in-process)."""

from __future__ import annotations

import numpy as np
import pytest

from gradkit.data import Batches, load
from gradkit.data.config import BlobsConfig, CsvConfig, NpzConfig, RegressionConfig, Task
from gradkit.data.dataset import encode_targets, infer_task, split_and_scale
from gradkit.errors import DataError


def test_blobs_binary_and_multiclass() -> None:
    ds = load(BlobsConfig(n_samples=100, n_features=4, n_classes=3))
    assert ds.task == "multiclass" and ds.n_outputs == 3 and ds.y_train.dtype == np.int64
    assert ds.x_train.dtype == np.float32 and ds.x_train.shape == (80, 4)
    ds2 = load(BlobsConfig(n_samples=100, n_features=4, n_classes=2))
    assert ds2.task == "binary" and ds2.y_train.shape == (80, 1) and ds2.n_outputs == 1


def test_seed_regression_is_seed_004s_set() -> None:
    ds = load(
        RegressionConfig(
            n_samples=64,
            n_features=1000,
            n_outputs=10,
            relation="none",
            val_fraction=0.0,
            standardize=False,
        )
    )
    assert ds.x_train.shape == (64, 1000) and ds.y_train.shape == (64, 10)
    assert ds.val_is_train and ds.x_val is ds.x_train
    assert abs(ds.x_train.std() - 1) < 0.05


def test_standardisation_uses_training_statistics_only() -> None:
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    y = np.arange(10) % 2
    ds = split_and_scale(
        "t", "binary", x, y.reshape(-1, 1).astype(np.float32), [0, 1], 0.3, True, seed=0
    )
    np.testing.assert_allclose(ds.x_train.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(ds.x_train.std(axis=0), 1, atol=1e-6)
    assert abs(ds.x_val.mean()) > 1e-3  # the validation split was not fitted


def test_task_inference_and_encoding() -> None:
    assert infer_task(np.array([0, 1, 1])) == "binary"
    assert infer_task(np.array([3, 5, 7, 3])) == "multiclass"
    assert infer_task(np.array([0.5, 1.25, 3.0])) == "regression"
    y, classes = encode_targets(np.array([5, 7, 5]), "multiclass", "w")
    assert y.tolist() == [0, 1, 0] and classes == [5, 7]
    y, classes = encode_targets(np.array([-1, 1, 1]), "binary", "w")
    assert y.tolist() == [[0.0], [1.0], [1.0]] and classes == [-1, 1]
    with pytest.raises(DataError, match="exactly 2 label values, found 3: 0, 1, 2"):
        encode_targets(np.array([0, 1, 2]), "binary", "w")


def test_csv_errors_name_file_row_and_column(tmp_path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a,label\n1,0\n2,1\n")
    ds = load(CsvConfig(path=str(f), target="label", val_fraction=0.5, task=Task.auto))
    assert ds.task == "binary"
    f.write_text("a,label\n1,0\n,1\n")
    with pytest.raises(DataError, match=r"d\.csv, row 3, column 'a': '' is not a number"):
        load(CsvConfig(path=str(f)))
    with pytest.raises(DataError, match=r"is a folder"):
        load(CsvConfig(path=str(tmp_path)))


def test_npz_errors(tmp_path) -> None:
    f = tmp_path / "d.npz"
    np.savez(f, x=np.ones((3, 2)), y=np.ones(4))
    with pytest.raises(DataError, match="'x' has 3 samples but 'y' has 4"):
        load(NpzConfig(path=str(f)))
    np.savez(f, x=np.array([[1.0, np.nan]]), y=np.ones(1))
    with pytest.raises(DataError, match=r"'x' has a non-finite value at index \(0, 1\)"):
        load(NpzConfig(path=str(f)))


def test_too_few_samples_for_a_split() -> None:
    with pytest.raises(DataError, match="too few for val_fraction"):
        split_and_scale("t", "binary", np.ones((1, 2)), np.ones((1, 1)), [0, 1], 0.5, False, 0)


def test_batches_come_from_seed_and_epoch() -> None:
    b = Batches(10, 4, seed=3, device="cpu")
    assert b.per_epoch == 3
    first = [b.indices(0, k).tolist() for k in range(3)]
    assert sorted(i for batch in first for i in batch) == list(range(10))
    assert len(first[-1]) == 2
    again = Batches(10, 4, seed=3, device="cpu")
    assert [again.indices(0, k).tolist() for k in range(3)] == first
    assert [again.indices(1, k).tolist() for k in range(3)] != first
    assert Batches(10, 0, seed=3, device="cpu").indices(0, 0) is None  # full batch


def test_csv_reader_reads_what_it_documents(tmp_path) -> None:
    """BOM, CRLF, quotes, spaces, empty lines, a target column in the middle, names."""
    from gradkit.data.files import read_csv

    f = tmp_path / "d.csv"
    f.write_bytes(b'\xef\xbb\xbfa;label;"b"\r\n 1.5 ;0;"-2e3"\r\n\r\n.5;1;7\r\n')
    x, y, _ = read_csv(str(f), "label", "semicolon")
    assert x.dtype == np.float32 and x.tolist() == [[1.5, -2000.0], [0.5, 7.0]]
    assert y.tolist() == [0.0, 1.0]
    f.write_text("a,label\n1,0\n")
    x, y, _ = read_csv(str(f), "label", "comma")
    assert x.shape == (1, 1) and y.shape == (1,)


def test_values_at_the_float32_limit(tmp_path) -> None:
    f = tmp_path / "d.csv"
    f.write_text("a,label\n1e19,0\n-1e19,1\n")
    ds = load(CsvConfig(path=str(f), val_fraction=0.0))
    assert np.isfinite(ds.x_train).all()  # standardised without overflow
    f.write_text("a,label\n1.1e19,0\n-1e19,1\n")
    with pytest.raises(DataError, match=r"row 2, column 'a': 1.1e19 is too large"):
        load(CsvConfig(path=str(f)))


def test_column_stats_match_numpy_in_float64() -> None:
    from gradkit.data.dataset import column_stats

    x = np.random.default_rng(0).standard_normal((1000, 3)).astype(np.float32) * 1e18
    x[:, 2] = 5.0
    mean, std = column_stats(x, chunk=64)
    np.testing.assert_allclose(mean, x.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(std[:2], x[:, :2].astype(np.float64).std(axis=0), rtol=1e-6)
    assert std[2] == 1.0


def test_lines_of_spaces_are_skipped_as_empty_lines(tmp_path) -> None:
    from gradkit.data.files import read_csv

    f = tmp_path / "d.csv"
    f.write_text("\n  \na,label\n1,0\n   \n2,1\n \n")
    x, y, _ = read_csv(str(f), "label")
    assert x.tolist() == [[1.0], [2.0]] and y.tolist() == [0.0, 1.0]
    f.write_text("a,b,label\n1,0,1\n \n2,1\n")
    with pytest.raises(DataError, match=r"d\.csv, row 4: 2 cells where the header has 3"):
        read_csv(str(f), "label")


def _user_loader(n: int, shift: float = 0.0, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 2)) + shift
    return x, (x[:, 0] > shift).astype(int), ["p", "q"]


def test_a_user_loader_is_called_with_the_configs_own_keys() -> None:
    """Every key but the shared options goes to the loader; seed too, as it takes one."""
    cfg = {"_target_": "mine.load", "n": 40, "shift": 3.0, "val_fraction": 0.25, "seed": 5}
    ds = load(cfg, loader=_user_loader)
    assert ds.name == "mine.load" and ds.task == "binary"
    assert ds.x_train.shape == (30, 2) and ds.feature_names == ["p", "q"]
    again = load({**cfg, "standardize": False}, loader=_user_loader)
    x, _, _ = _user_loader(40, 3.0, seed=5)
    assert sorted(again.x_train[:, 0].tolist() + again.x_val[:, 0].tolist()) == sorted(
        x[:, 0].astype(np.float32).tolist()
    )
    # a loader without a seed parameter is not given one; task= forces the task
    ds = load(
        {"_target_": "m.f", "task": "regression"},
        loader=lambda: (np.ones((4, 1)), np.arange(4.0)),
    )
    assert ds.task == "regression" and ds.feature_names == ["x0"]


def test_only_gradkits_own_loaders_are_looked_up_by_name() -> None:
    from gradkit.errors import UserError

    with pytest.raises(UserError, match=r"data loader 'os\.system' is not one of gradkit's own"):
        load({"_target_": "os.system", "command": "touch x"})


@pytest.mark.parametrize(
    ("loader", "message"),
    [
        (lambda: "x", "returned str; a loader returns (x, y) or (x, y, feature_names)"),
        (lambda: (np.ones(3), np.ones(3)), "'x' must be a 2-D (samples x features) array"),
        (lambda: (np.ones((3, 1)), np.ones(2)), "'x' has 3 samples but 'y' has 2"),
        (lambda: ([["a"]], [1]), "array 'x' holds <U1 values; it must hold numbers"),
        (lambda: (np.ones((2, 1)), [1.0, np.inf]), "'y' has a non-finite value at index (1,)"),
        (lambda: 1 / 0, "failed: ZeroDivisionError: division by zero"),
        (lambda n: None, "TypeError: <lambda>() missing 1 required positional argument"),
    ],
)
def test_what_a_user_loader_returns_is_checked(loader, message) -> None:
    import re

    with pytest.raises(DataError, match=re.escape(message)):
        load({"_target_": "m.f"}, loader=loader)


def test_shared_options_of_a_user_config_are_typed() -> None:
    from gradkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"data\.val_fraction must be a number; got 'abc'"):
        load({"_target_": "m.f", "val_fraction": "abc"}, loader=_user_loader)


def test_a_built_in_loader_with_wrong_keys_is_a_data_error() -> None:
    """A YAML naming a built-in _target_ without its schema: missing or misspelled keys
    are a DataError naming data._target_ and what it takes, not a TypeError."""
    with pytest.raises(DataError, match=r"data._target_=gradkit.data.sources.csv_file: .*pth"):
        load({"_target_": "gradkit.data.sources.csv_file", "pth": "x.csv"})
    with pytest.raises(DataError, match=r"missing .*it takes n_samples, n_features"):
        load({"_target_": "gradkit.data.sources.blobs", "n_samples": 100})
