"""Training loops: a shared loop core (checkpoints, resume, logs, DDP) and one module per task.

``dolphin train task=codec`` runs :func:`dolphin.train.codec.train_codec`; the loop settings
live in :class:`dolphin.train.loop.TrainConfig` (``conf/train/``).
"""

from dolphin.train.checkpoint import (
    Checkpoint,
    find_latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from dolphin.train.loop import TrainConfig

__all__ = [
    "Checkpoint",
    "TrainConfig",
    "find_latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
]
