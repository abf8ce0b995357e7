"""The step loop every task shares: logging, validation, exports, checkpoints, DDP barriers.

A task supplies a trainer (:class:`Trainer`) and a batch iterator; :func:`run_steps` drives it to
``train.steps``, writing ``metrics.csv`` every ``log_every`` steps, scoring held-out data and
exporting the model every ``eval_every`` steps (``model/`` always, ``best/`` when the score
improves), checkpointing every ``ckpt_every`` steps and on Ctrl-C. A step whose metrics are not
finite (a diverged loss) stops the run with :class:`TrainingDivergedError` before anything of
that step is checkpointed or exported, so the newest checkpoint stays usable.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import torch

from dolphin.errors import DolphinError
from dolphin.train.loop import MetricsLog, Runtime, TrainConfig


class TrainingDivergedError(DolphinError, RuntimeError):
    """A training step gave a non-finite loss or gradient norm; nothing of it was saved."""


class Trainer(Protocol):
    """What :func:`run_steps` needs from a task's trainer."""

    step: int  # optimisation steps done
    best_val: float  # best validation score so far (lower is better)
    runtime: Runtime
    run_dir: Path

    def train_step(self, batch: Any) -> dict[str, float]:
        """One optimisation step; scalar metrics (``count_*`` keys are summed into rates)."""

    def evaluate(self, val: Any) -> dict[str, float]:
        """Scores on held-out data; must contain the trainer's ``best_key``."""

    def export(self, folder: Path) -> None:
        """Write the model, loadable on its own, to ``folder``."""

    def save(self) -> Path:
        """Write a checkpoint of the current step."""


def run_steps(
    trainer: Trainer,
    batches: Iterable[Any],
    val: Any,
    *,
    train: TrainConfig,
    desc: str,
    best_key: str,
    postfix_keys: tuple[str, ...] = (),
) -> None:
    """Train until ``train.steps``, logging, validating, exporting and checkpointing.

    Parameters
    ----------
    trainer : Trainer
        The task's trainer, already restored from its newest checkpoint.
    batches : iterable
        Training batches from the trainer's current step on.
    val : any
        Held-out data passed to :meth:`Trainer.evaluate`.
    train : TrainConfig
        Loop settings.
    desc : str
        Progress-bar label.
    best_key : str
        Validation score (lower is better) deciding what is exported to ``best/``.
    postfix_keys : tuple of str
        Metrics shown on the progress bar.

    Notes
    -----
    Metrics named ``count_<x>`` are summed over the logging window and written as
    ``<x>_per_s`` (over all processes); ``steps_per_s`` is always written.
    """
    from tqdm import tqdm

    rt, run_dir = trainer.runtime, trainer.run_dir
    log = MetricsLog(run_dir, tensorboard=train.tensorboard, resume_step=trainer.step)
    val_log = MetricsLog(
        run_dir, name="val.csv", tensorboard=train.tensorboard, resume_step=trainer.step
    )
    bar = tqdm(
        total=train.steps,
        initial=trainer.step,
        disable=not (train.progress and rt.is_main),
        desc=desc,
        dynamic_ncols=True,
    )
    sums: dict[str, float] = {}
    count, tick = 0, time.perf_counter()
    try:
        for batch in batches:
            if trainer.step >= train.steps:
                break
            metrics = trainer.train_step(batch)
            bad = sorted(k for k, v in metrics.items() if not math.isfinite(v))
            if bad:
                if rt.is_main:
                    log.write(trainer.step, metrics)
                raise TrainingDivergedError(
                    f"step {trainer.step}: {', '.join(bad)} not finite (training diverged); "
                    f"nothing of this step was saved, the newest checkpoint in "
                    f"{run_dir / 'checkpoints'} is intact: resume from it with a lower "
                    "train.lr, or check the data"
                )
            for key, value in metrics.items():
                sums[key] = sums.get(key, 0.0) + value
            bar.update(1)
            count += 1
            step = trainer.step
            last = step == train.steps
            if step % train.log_every == 0 or last:
                elapsed = max(1e-9, time.perf_counter() - tick)
                means = {k: v / count for k, v in sums.items() if not k.startswith("count_")}
                for key, value in sums.items():
                    if key.startswith("count_"):
                        means[f"{key[6:]}_per_s"] = value * rt.world_size / elapsed
                means["steps_per_s"] = count / elapsed
                if rt.is_main:
                    log.write(step, means)
                bar.set_postfix({k: f"{means[k]:.3f}" for k in postfix_keys if k in means})
                sums, count, tick = {}, 0, time.perf_counter()
            if step % train.eval_every == 0 or last:
                scores = trainer.evaluate(val)
                if rt.is_main:
                    if scores:
                        val_log.write(step, scores)
                    trainer.export(run_dir / "model")
                    score = scores.get(best_key, float("inf"))
                    if score < trainer.best_val:
                        trainer.best_val = score
                        trainer.export(run_dir / "best")
            if rt.is_main and (step % train.ckpt_every == 0 or last):
                trainer.save()
            if rt.distributed:
                torch.distributed.barrier()
    except KeyboardInterrupt:
        if rt.is_main:
            trainer.save()
        raise
    finally:
        bar.close()
        log.close()
        val_log.close()
    if rt.is_main:
        trainer.export(run_dir / "model")
