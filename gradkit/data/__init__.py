"""Data: synthetic sets, CSV/NPZ files, scikit-learn's bundled sets; splits, scaling, batches."""

from .batches import Batches
from .config import DATA_SCHEMAS, DataConfig, Task
from .dataset import Dataset, TensorData
from .sources import load

__all__ = ["Batches", "DATA_SCHEMAS", "DataConfig", "Dataset", "Task", "TensorData", "load"]
