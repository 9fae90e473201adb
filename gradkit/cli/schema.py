"""The config schemas: one dataclass per option of each config group.

``conf/<group>/<option>.yaml`` extends its schema (``defaults: [/<group>_<x>_schema@_here_]``),
so a misspelt key or a value of the wrong type fails before anything runs.
The ``data/`` and ``loop/`` schemas live with the code that reads them
(``gradkit/data/config.py``, ``gradkit/train/config.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ..data.config import DATA_SCHEMAS
from ..train.config import LoopConfig

__all__ = [
    "CompareConfig",
    "GradcheckConfig",
    "GraphConfig",
    "LogRegConfig",
    "MLPConfig",
    "SGDConfig",
    "AdamConfig",
    "DeviceType",
    "DeviceConfig",
    "TrainConfig",
    "TensorBoardLoggerConfig",
    "MLflowLoggerConfig",
    "SCHEMAS",
    "register",
]


# -- model/ ------------------------------------------------------------------------------
@dataclass
class LogRegConfig:
    """Logistic regression; ``dim`` (features) and ``n_classes`` (2: binary, sigmoid;
    more: multinomial, softmax) come from the data when unset."""

    _target_: str = MISSING
    dim: int | None = None
    n_classes: int | None = None
    loss: str | None = None
    #: default (PyTorch's Linear init) or zeros (as seed 001)
    init: str = "default"


@dataclass
class MLPConfig:
    """2-layer ReLU MLP d_in -> hidden -> d_out; d_in, d_out and task come from the data
    when unset; loss defaults to the task's (cross_entropy, bce_with_logits, mse)."""

    _target_: str = MISSING
    d_in: int | None = None
    hidden: int = 64
    d_out: int | None = None
    task: str | None = None
    loss: str | None = None
    bias: bool = True
    #: default (PyTorch's Linear init) or normal (N(0, 1), as seed 004)
    init: str = "default"


# -- optimizer/ ----------------------------------------------------------------------------
@dataclass
class SGDConfig:
    _target_: str = "gradkit.optim.SGD"
    lr: float = 0.1
    momentum: float = 0.0
    dampening: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = False


@dataclass
class AdamConfig:
    _target_: str = "gradkit.optim.Adam"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    weight_decay: float = 0.0
    amsgrad: bool = False


# -- device/ -----------------------------------------------------------------------------------
class DeviceType(Enum):
    """cpu (numpy), cuda (cupy), auto (cuda if usable, else cpu), strict (array-api-strict,
    the test stand-in for a GPU)."""

    cpu = "cpu"
    cuda = "cuda"
    auto = "auto"
    strict = "strict"


@dataclass
class DeviceConfig:
    type: DeviceType = DeviceType.cpu
    #: GPU number for cuda (unset: the current one); 1 is strict's device1
    index: int | None = None


# -- logger/ (each option nests its settings under its name: logger=[tensorboard,mlflow]) ---
@dataclass
class TensorBoardLoggerConfig:
    """TensorBoard event files (tensorboardX), in a folder of the run folder."""

    _target_: str = "gradkit.train.loggers.TensorBoardLogger"
    #: the folder, inside the run folder
    log_dir: str = "tensorboard"


@dataclass
class MLflowLoggerConfig:
    """An MLflow run per gradkit run: params, metrics per step, artifacts."""

    _target_: str = "gradkit.train.loggers.MLflowLogger"
    #: where MLflow stores runs (a relative sqlite path is from where gradkit runs)
    tracking_uri: str = "sqlite:///mlflow.db"
    experiment: str = "gradkit"
    #: the MLflow run's name (unset: the run folder)
    run_name: str | None = None
    #: log params.npz and model.json as artifacts at the end
    artifacts: bool = True


# -- the other commands' options ---------------------------------------------------------------
@dataclass
class CompareConfig:
    """gradkit compare: the gradient modes of one model family, trained in lockstep."""

    #: class of the hand-written twin (unset: the family's, e.g. ManualLogisticRegression)
    manual: str | None = None
    #: class of the custom-Function twin (unset: the family's, when it has one)
    function: str | None = None
    #: a gradient disagrees when max|g - g_autograd| > atol + rtol * max|g_autograd|
    atol: float = 1e-5
    rtol: float = 1e-4


@dataclass
class GradcheckConfig:
    """gradkit gradcheck: finite differences against backward, in float64."""

    #: check only cases whose name contains this text (unset: all)
    filter: str | None = None
    #: your own op, as pkg.module:Name (a Function subclass or a function); unset: built-ins
    target: str | None = None
    #: the shapes of the target's inputs, e.g. [[3,4],[4]]
    inputs: list[list[int]] | None = None
    #: where the target's input values come from: any, pos, away0, unit
    domain: str = "any"
    eps: float = 1e-6
    atol: float = 1e-5
    rtol: float = 1e-3


@dataclass
class GraphConfig:
    """gradkit graph: one training step's autograd graph."""

    #: samples in the batch the step runs on
    batch_size: int = 8


# -- the primary config ------------------------------------------------------------------------
@dataclass
class TrainConfig:
    model: Any = MISSING
    optimizer: Any = MISSING
    device: Any = MISSING
    data: Any = MISSING
    loop: Any = MISSING
    #: trackers fed during training (logger=tensorboard, mlflow, [tensorboard,mlflow])
    logger: Any = None
    #: seeds the parameters' initialisation and the batch order
    seed: int = 0
    #: a run folder (or its checkpoint.npz) to continue from
    resume: str | None = None


@dataclass
class ComparePrimary:
    model: Any = MISSING
    optimizer: Any = MISSING
    device: Any = MISSING
    data: Any = MISSING
    loop: Any = MISSING
    compare: CompareConfig = field(default_factory=CompareConfig)
    seed: int = 0


@dataclass
class GraphPrimary:
    model: Any = MISSING
    device: Any = MISSING
    data: Any = MISSING
    graph: GraphConfig = field(default_factory=GraphConfig)
    seed: int = 0


@dataclass
class GradcheckPrimary:
    gradcheck: GradcheckConfig = field(default_factory=GradcheckConfig)


#: group -> {schema name: dataclass}
SCHEMAS: dict[str, dict[str, type]] = {
    "model": {"logreg": LogRegConfig, "mlp": MLPConfig},
    "optimizer": {"sgd": SGDConfig, "adam": AdamConfig},
    "device": {"device": DeviceConfig},
    "data": dict(DATA_SCHEMAS),
    "loop": {"loop": LoopConfig},
}


def register() -> None:
    """Put every schema in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    for group, schemas in SCHEMAS.items():
        for name, node in schemas.items():
            # at the root, not in a group, so --help lists only the real choices
            cs.store(name=f"{group}_{name}_schema", node=node)
    cs.store(name="logger_tensorboard_schema", node=TensorBoardLoggerConfig)
    cs.store(name="logger_mlflow_schema", node=MLflowLoggerConfig)
    cs.store(name="train_schema", node=TrainConfig)
    cs.store(name="compare_schema", node=ComparePrimary)
    cs.store(name="graph_schema", node=GraphPrimary)
    cs.store(name="gradcheck_schema", node=GradcheckPrimary)
