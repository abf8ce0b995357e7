"""What every training task shares: loop settings, learning-rate schedule, devices, DDP, logs.

Task modules (:mod:`dolphin.train.codec`) own the model-specific step; this module owns the rest so
that every task resumes, logs and scales the same way.
"""

from __future__ import annotations

import contextlib
import csv
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from dolphin.errors import ConfigError


@dataclass
class TrainConfig:
    """Settings of a training run (mirrors ``conf/train/*.yaml``)."""

    run_dir: str = "outputs/train/codec"  # checkpoints, logs and the exported model go here
    steps: int = 20000  # optimisation steps in total (a resumed run continues to this count)
    batch_size: int = 16  # crops per step on each process
    lr: float = 1e-3  # peak learning rate (Adam)
    warmup_steps: int = 500  # linear warm-up from 0 to lr
    min_lr_ratio: float = 0.05  # cosine decay ends at lr * min_lr_ratio
    beta1: float = 0.8  # Adam beta1 (low, as GAN codecs use)
    beta2: float = 0.99  # Adam beta2
    weight_decay: float = 0.0  # decoupled weight decay (AdamW)
    grad_clip: float = 1.0  # clip the generator gradient norm; 0 turns clipping off
    seed: int = 0  # seeds model init, data order and quantizer randomness
    device: str = "auto"  # auto (cuda if present), cpu or cuda
    threads: int = 0  # torch CPU threads; 0 keeps torch's default
    num_workers: int = 1  # data worker processes (0 generates data in the main process)
    log_every: int = 20  # steps between metric rows
    eval_every: int = 500  # steps between validation passes (and model exports)
    ckpt_every: int = 200  # steps between checkpoints; a kill loses at most this many
    keep_checkpoints: int = 3  # newest checkpoints kept on disk
    resume: bool = True  # continue from the newest checkpoint in run_dir when there is one
    init_from: str = ""  # saved model folder to start from when no checkpoint exists
    tensorboard: bool = False  # also write TensorBoard events (needs the tensorboard package)
    progress: bool = True  # progress bar on the terminal
    precision: str = "auto"  # LM matmuls: auto (bf16 autocast on CUDA, fp32 on CPU), bf16, fp32

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "eval_every", "ckpt_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ConfigError(f"train.lr must be > 0, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ConfigError(f"train.device must be auto, cpu or cuda, got {self.device!r}")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise ConfigError(f"train.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.warmup_steps < 0 or self.num_workers < 0 or self.threads < 0:
            raise ConfigError("train.warmup_steps, num_workers and threads must be >= 0")
        if self.precision not in ("auto", "bf16", "fp32"):
            raise ConfigError(f"train.precision must be auto, bf16 or fp32, got {self.precision!r}")


def autocast(cfg: TrainConfig, device: torch.device) -> contextlib.AbstractContextManager:
    """bf16 autocast for ``train.precision`` on ``device`` (a no-op context for fp32).

    ``auto`` is bf16 on CUDA and fp32 on a CPU; ``bf16`` also autocasts on a CPU, about twice as
    fast as fp32 on CPUs with native bf16 (AMX, AVX512-BF16) and slower on others.
    """
    on = cfg.precision == "bf16" or (cfg.precision == "auto" and device.type == "cuda")
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def learning_rate(cfg: TrainConfig, step: int) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up, then cosine to ``lr * min_lr_ratio``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    floor = cfg.lr * cfg.min_lr_ratio
    return floor + 0.5 * (cfg.lr - floor) * (1.0 + math.cos(math.pi * progress))


@dataclass
class Runtime:
    """Where this process runs: device and its place in a DDP group."""

    device: torch.device
    rank: int = 0  # this process's rank
    world_size: int = 1  # processes in the group (torchrun --nproc_per_node)
    local_rank: int = 0  # GPU index on this node

    @property
    def is_main(self) -> bool:
        """Rank 0 writes checkpoints, logs and exports."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """True under torchrun with more than one process."""
        return self.world_size > 1


def setup_runtime(cfg: TrainConfig) -> Runtime:
    """Pick the device and join the DDP group that ``torchrun`` describes in the environment.

    Returns
    -------
    Runtime
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    want_cuda = cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available())
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device=cuda but no CUDA device is available")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = torch.device(f"cuda:{local_rank}" if want_cuda else "cpu")
    if want_cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if want_cuda else "gloo")
    return Runtime(device=device, rank=rank, world_size=world_size, local_rank=local_rank)


class MetricsLog:
    """Append-only CSV of metrics (one file per kind of row), optionally mirrored to TensorBoard.

    Columns grow when a new metric appears (the file is rewritten once); a resumed run appends to the same file and drops
    rows after the resume step, so the log matches the checkpoint it continues from.
    """

    def __init__(
        self,
        run_dir: Path,
        *,
        name: str = "metrics.csv",
        tensorboard: bool = False,
        resume_step: int = 0,
    ) -> None:
        self.path = run_dir / name
        self._fields: list[str] | None = None
        if self.path.is_file():
            with self.path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            if rows:
                self._fields = list(rows[0].keys())
                kept = [r for r in rows if int(float(r.get("step", 0))) <= resume_step]
                self._rewrite(kept)
        self._writer = None
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as err:
                raise ConfigError(
                    "train.tensorboard=true needs the tensorboard package (pip install tensorboard)"
                ) from err
            events = run_dir / "tensorboard" / Path(name).stem
            self._writer = SummaryWriter(str(events), purge_step=resume_step)

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        tmp = self.path.with_suffix(".csv.tmp")
        with tmp.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=self._fields)
            writer.writeheader()
            writer.writerows(rows)
        tmp.replace(self.path)

    def write(self, step: int, values: dict[str, float]) -> None:
        """Append one row (``step``, wall time, then ``values``)."""
        row = {"step": step, "time": round(time.time(), 3), **values}
        if self._fields is None:
            self._fields = list(row.keys())
            with self.path.open("w", newline="") as handle:
                csv.DictWriter(handle, fieldnames=self._fields).writeheader()
        elif any(key not in self._fields for key in row):  # a new metric (e.g. GAN phase)
            with self.path.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            self._fields += [key for key in row if key not in self._fields]
            self._rewrite(rows)
        with self.path.open("a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self._fields, extrasaction="ignore").writerow(row)
        if self._writer is not None:
            for key, value in values.items():
                self._writer.add_scalar(key, value, step)

    def close(self) -> None:
        """Flush TensorBoard events."""
        if self._writer is not None:
            self._writer.close()
