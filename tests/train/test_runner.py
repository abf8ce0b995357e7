"""The shared step loop stops a diverged run before saving anything of the bad step."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest
import torch

from dolphin.errors import DolphinError
from dolphin.train.loop import Runtime, TrainConfig
from dolphin.train.runner import TrainingDivergedError, run_steps


class _Trainer:
    """A trainer whose loss turns NaN at step ``bad_step``; records what was saved."""

    def __init__(self, run_dir: Path, bad_step: int) -> None:
        self.step, self.best_val = 0, math.inf
        self.runtime = Runtime(device=torch.device("cpu"))
        self.run_dir, self.bad_step = run_dir, bad_step
        self.saved: list[int] = []
        self.exported: list[int] = []

    def train_step(self, batch: int) -> dict[str, float]:
        self.step += 1
        return {"loss": math.nan if self.step >= self.bad_step else 1.0 / self.step}

    def evaluate(self, val: object) -> dict[str, float]:
        return {"val_loss": 1.0 / self.step}

    def export(self, folder: Path) -> None:
        self.exported.append(self.step)

    def save(self) -> Path:
        self.saved.append(self.step)
        return self.run_dir


def test_a_non_finite_step_stops_the_run_and_saves_nothing_of_it(tmp_path: Path) -> None:
    trainer = _Trainer(tmp_path, bad_step=4)
    cfg = TrainConfig(steps=10, log_every=1, eval_every=1, ckpt_every=1, progress=False)
    with pytest.raises(TrainingDivergedError, match="step 4: loss not finite") as err:
        run_steps(trainer, iter(range(10)), None, train=cfg, desc="t", best_key="val_loss")
    assert isinstance(err.value, DolphinError)
    assert trainer.saved == [1, 2, 3] and trainer.exported[-1] == 3
    with (tmp_path / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["step"] for r in rows] == ["1", "2", "3", "4"] and rows[-1]["loss"] == "nan"
