"""The loop in-process: device discipline, checkpoints, failure."""

from __future__ import annotations

import numpy as np
import pytest

import gradkit
from gradkit.backend.transfer import count_transfers
from gradkit.data import load
from gradkit.data.config import BlobsConfig
from gradkit.models import MLP
from gradkit.train import LoopConfig, Trainer, TrainingFailed, make_reporter
from gradkit.train.checkpoint import load_checkpoint, save_checkpoint


def _trainer(tmp_path, device="cpu", **loop):
    gradkit.manual_seed(0)
    ds = load(BlobsConfig(n_samples=200, n_features=5, n_classes=3))
    model = MLP(5, 16, 3).to(device)
    opt = gradkit.optim.Adam(model.parameters(), lr=0.01)
    cfg = LoopConfig(**{"steps": 20, "batch_size": 0, "log_every": 10, "eval_every": 0, **loop})
    return Trainer(
        model,
        opt,
        ds.to(device),
        cfg,
        tmp_path,
        0,
        device,
        lambda total, name: make_reporter("none", total, name, False),
    )


def test_steps_on_the_gpu_stand_in_copy_nothing_outside_logging(tmp_path) -> None:
    pytest.importorskip("array_api_strict")
    dev = gradkit.device("strict", 1)
    tr = _trainer(tmp_path, dev, steps=12, log_every=100, eval_every=0)
    tr.total = 10  # stop before the final log step, which reads the loss back
    with count_transfers() as c:
        micro = 0
        for _ in range(10):
            micro = tr._train_step(micro)[-1]
    assert c.total == 0, c


def test_checkpoint_round_trip(tmp_path) -> None:
    tr = _trainer(tmp_path)
    tr.run()
    save_checkpoint(tmp_path, tr.model, tr.optimizer, {"step": 20, "micro": 20})
    other = _trainer(tmp_path)
    pos = load_checkpoint(tmp_path / "checkpoint.npz", other.model, other.optimizer)
    assert pos == {"step": 20, "micro": 20}
    for (n, p), (_, q) in zip(tr.model.named_parameters(), other.model.named_parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy(), err_msg=n)
    assert other.optimizer.state_dict()["state"][0]["step"].item() == 20


def test_nan_at_the_first_step_saves_no_parameters(tmp_path) -> None:
    """Parameters whose loss is not finite are not 'good': none are saved (they used to be)."""
    tr = _trainer(tmp_path)
    for p in tr.model.parameters():
        p.requires_grad_(False)
        p.mul_(1e30)
        p.requires_grad_(True)
    with pytest.raises(TrainingFailed, match=r"became .* at step 1.*none are saved"):
        tr.run()
    assert not (tmp_path / "params.npz").exists()


def test_nan_later_saves_the_last_parameters_seen_to_give_a_finite_loss(tmp_path) -> None:
    tr = _trainer(tmp_path, log_every=1, steps=200)
    tr.optimizer = gradkit.optim.SGD(tr.model.parameters(), lr=1e6)
    with pytest.raises(
        TrainingFailed, match=r"finite training loss, ([0-9.e+-]+), at step (\d+)"
    ) as e:
        tr.run()
    import re

    good_loss = re.search(r"loss, ([0-9.e+-]+), at step (\d+)", str(e.value)).group(1)
    saved = np.load(tmp_path / "params.npz")
    with gradkit.no_grad():
        for n, p in tr.model.named_parameters():
            p.copy_(gradkit.tensor(saved[n]))
        loss = tr.model.loss(tr.model(tr.data.x_train), tr.data.y_train).item()
    assert np.isfinite(loss) and loss == pytest.approx(float(good_loss), rel=1e-5)


@pytest.mark.parametrize(
    ("loop", "message"),
    [
        ({"accumulate": 0}, "loop.accumulate must be >= 1, got 0"),
        ({"log_every": 0}, "loop.log_every must be >= 1, got 0"),
        ({"epochs": 0}, "loop.epochs must be >= 1, got 0"),
        ({"batch_size": -1}, "loop.batch_size must be >= 0, got -1"),
        ({"eval_every": -2}, "loop.eval_every must be >= 0, got -2"),
        ({"checkpoint_every": -1}, "loop.checkpoint_every must be >= 0, got -1"),
        ({"steps": 0}, "loop.steps must be >= 1 (or unset), got 0"),
    ],
)
def test_loop_settings_are_checked_once_where_the_config_is_built(loop, message) -> None:
    """The one check: a LoopConfig built by hand, or by OmegaConf from the CLI's config."""
    from omegaconf import OmegaConf

    from gradkit.errors import ConfigError

    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LoopConfig(**loop)
    node = OmegaConf.merge(OmegaConf.structured(LoopConfig), loop)
    with pytest.raises(ConfigError, match=r"^loop\."):
        OmegaConf.to_object(node)
