"""Sound-token LM training (``dolphin train task=lm``): next-token cross-entropy, resumable, DDP.

The LM models the tokens of one codec. ``lm_train.codec`` names it (a saved codec folder or a
shipped name); when empty, an *untrained* codec is built from the ``codec`` config group
(seeded, codebooks initialised by k-means on one synthetic second), which is only good for
smoke tests such as ``dolphin train task=lm lm=tiny codec=tiny train=debug``. Recordings of
``lm_train.data.folder`` (or synthetic scenes) are encoded once into token files cached under
``lm_train.data.cache_dir`` (default ``run_dir/tokens``), split by recording, and cut into
random windows (:mod:`dolphin.lm.data`).

Each step runs AdamW on a batch of windows with warm-up + cosine learning rate
(:func:`~dolphin.train.loop.learning_rate`), gradient clipping and bf16 autocast (``train.precision``). The
run folder holds ``checkpoints/step_*/`` (safetensors + JSON; a killed run resumes bit for
bit), ``metrics.csv``, ``val.csv`` (held-out bits per token), ``config.json``, ``codec/`` (the
codec whose tokens the LM models) and ``model/`` and ``best/``, loadable with
:meth:`dolphin.lm.SoundLM.from_pretrained`.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from dolphin.errors import ConfigError
from dolphin.lm.config import LMConfig
from dolphin.lm.data import LMDataConfig
from dolphin.train.loop import Runtime, TrainConfig, autocast, learning_rate, setup_runtime
from dolphin.train.runner import run_steps

if TYPE_CHECKING:
    from dolphin.codec import Codec, CodecConfig


@dataclass
class LMTrainConfig:
    """What LM training needs beyond the model and the loop (mirrors ``conf/lm_train``)."""

    codec: str = ""  # saved codec folder or shipped name; "" = untrained codec from `codec` group
    n_q: int = 0  # codebooks modelled (the codec's first n_q); 0 = all of the codec's
    data: LMDataConfig = field(default_factory=LMDataConfig)  # recordings or synthetic scenes
    val_windows: int = 64  # held-out windows scored at every evaluation

    def __post_init__(self) -> None:
        if self.val_windows < 0:
            raise ConfigError(f"lm_train.val_windows must be >= 0, got {self.val_windows}")
        if self.n_q < 0:
            raise ConfigError(f"lm_train.n_q must be >= 0 (0 = all codebooks), got {self.n_q}")

    def codebooks(self, codec: Codec) -> int:
        """Codebooks the LM models with ``codec``: ``n_q``, or all ``K`` when it is 0.

        Raises
        ------
        ConfigError
            ``n_q`` exceeds the codec's ``K``.
        """
        if self.n_q > codec.n_q:
            raise ConfigError(f"lm_train.n_q={self.n_q} but the codec has {codec.n_q} codebooks")
        return self.n_q or codec.n_q


def build_codec(task: LMTrainConfig, codec_config: CodecConfig) -> Codec:
    """The codec whose tokens the LM models (eval mode, on the CPU).

    ``task.codec`` is loaded when set; otherwise an untrained codec is built from
    ``codec_config`` with seed 0, its codebooks initialised by k-means on one second of a
    synthetic scene, so that the same config always gives the same codec (and identity hash).
    """
    from dolphin.codec import Codec

    if task.codec:
        return Codec.from_pretrained(task.codec).eval()
    from dolphin.synth.scene import SceneConfig, make_scene

    with torch.random.fork_rng():
        torch.manual_seed(0)
        codec = Codec(codec_config)
        cfg = replace(SceneConfig(), sample_rate=codec.sample_rate, duration_s=1.0)
        audio = torch.from_numpy(make_scene(cfg, seed=0).samples[:1])[None]
        codec.train()
        with torch.no_grad():
            codec(audio, n_q=codec.n_q)
    return codec.eval()


class LMTrainer:
    """Owns the model, optimizer and run folder of one LM training run.

    Parameters
    ----------
    lm_config : LMConfig
        Architecture, bound to the codec (:meth:`LMConfig.bind`).
    train : TrainConfig
        Loop settings.
    """

    def __init__(self, lm_config: LMConfig, train: TrainConfig) -> None:
        from dolphin.lm.model import SoundLM

        self.train_cfg = train
        self.runtime: Runtime = setup_runtime(train)
        self.run_dir = Path(train.run_dir)
        torch.manual_seed(train.seed)
        self.lm = SoundLM(lm_config).to(self.runtime.device)
        decay = [p for p in self.lm.parameters() if p.dim() >= 2]
        no_decay = [p for p in self.lm.parameters() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": train.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        self.opt = torch.optim.AdamW(groups, lr=train.lr, betas=(train.beta1, train.beta2))
        self.step = 0
        self.best_val = float("inf")
        self.model: torch.nn.Module = self.lm
        if self.runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.runtime.local_rank] if self.runtime.device.type == "cuda" else None
            self.model = DDP(self.lm, device_ids=ids)

    def save(self) -> Path:
        """Write a checkpoint of the current step (rank 0 only); returns its folder."""
        from dolphin.train.checkpoint import save_checkpoint

        return save_checkpoint(
            self.run_dir / "checkpoints",
            self.step,
            modules={"lm": self.lm},
            optimizers={"lm": self.opt},
            extra={"best_val": self.best_val, "codec_hash": self.lm.config.codec_hash},
            keep=self.train_cfg.keep_checkpoints,
        )

    def restore(self) -> bool:
        """Resume from the newest checkpoint, or start from ``init_from``; True if resumed.

        Raises
        ------
        ConfigError
            The checkpoint or ``init_from`` model was trained on another codec or config.
        """
        from dolphin.lm.model import SoundLM
        from dolphin.train.checkpoint import find_latest_checkpoint, load_checkpoint

        latest = find_latest_checkpoint(self.run_dir / "checkpoints")
        if self.train_cfg.resume and latest is not None:
            ckpt = load_checkpoint(latest, modules={"lm": self.lm}, optimizers={"lm": self.opt})
            if ckpt.extra.get("codec_hash") != self.lm.config.codec_hash:
                raise ConfigError(
                    f"{latest}: trained on codec {ckpt.extra.get('codec_hash')}, this run uses "
                    f"{self.lm.config.codec_hash}; use another train.run_dir or the same codec"
                )
            self.step = ckpt.step
            self.best_val = float(ckpt.extra.get("best_val", float("inf")))
            return True
        if self.train_cfg.init_from:
            start = SoundLM.from_pretrained(self.train_cfg.init_from)
            # The window and dropout are training settings: the weights fit any of them.
            free = {"context_frames": 0, "dropout": 0.0}
            if replace(start.config, **free) != replace(self.lm.config, **free):
                raise ConfigError(
                    f"train.init_from={self.train_cfg.init_from}: its LM config (or codec) "
                    "differs from the one being trained (only the window and dropout may)"
                )
            self.lm.load_state_dict(start.state_dict())
        return False

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on windows ``[B, K, W]``; returns scalar metrics."""
        cfg, device = self.train_cfg, self.runtime.device
        lr = learning_rate(cfg, self.step)
        for group in self.opt.param_groups:
            group["lr"] = lr
        codes = batch.to(device, non_blocking=True)
        with autocast(cfg, device):
            out = self.lm.compute_loss(codes, forward=self.model)
        self.opt.zero_grad(set_to_none=True)
        out.loss.backward()
        metrics: dict[str, float] = {}
        if cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.lm.parameters(), cfg.grad_clip)
            metrics["grad_norm"] = float(norm)
        self.opt.step()
        self.step += 1
        metrics.update(
            loss=float(out.loss.detach()),
            bits_per_token=float(out.loss.detach()) / math.log(2),
            count_tokens=float(out.tokens_per_codebook.sum()),
            lr=lr,
        )
        return metrics

    def export(self, folder: Path) -> None:
        """Save the LM (``save_pretrained``) to ``folder``."""
        self.lm.save_pretrained(folder)

    @torch.no_grad()
    def evaluate(self, windows: torch.Tensor) -> dict[str, float]:
        """Bits per token on held-out windows ``[n, K, W]`` (all and per codebook)."""
        if not windows.shape[0]:
            return {}
        self.lm.eval()
        k = self.lm.n_codebooks
        nats, counts = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
        for i in range(0, windows.shape[0], self.train_cfg.batch_size):
            batch = windows[i : i + self.train_cfg.batch_size].to(self.runtime.device)
            with autocast(self.train_cfg, self.runtime.device):
                out = self.lm.compute_loss(batch)
            nats += out.nats_per_codebook.double().cpu()
            counts += out.tokens_per_codebook.double().cpu()
        self.lm.train()
        bits = nats / counts.clamp(min=1) / math.log(2)
        result = {"val_bits_per_token": float(nats.sum() / counts.sum().clamp(min=1) / math.log(2))}
        result.update({f"val_bits_cb{i}": float(b) for i, b in enumerate(bits)})
        return result


def _loader(data: torch.utils.data.Dataset, trainer: LMTrainer) -> torch.utils.data.DataLoader:
    from dolphin.train.codec_data import StepBatches

    sampler = StepBatches(
        trainer.train_cfg.batch_size,
        start_step=trainer.step,
        rank=trainer.runtime.rank,
        world_size=trainer.runtime.world_size,
    )
    workers = trainer.train_cfg.num_workers
    return torch.utils.data.DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=workers,
        prefetch_factor=4 if workers else None,
        pin_memory=trainer.runtime.device.type == "cuda",
        generator=torch.Generator(),  # keeps the loader off the global RNG (exact resume)
    )


def prepare_data(
    task: LMTrainConfig, codec: Codec, train: TrainConfig, runtime: Runtime
) -> tuple[torch.utils.data.Dataset, torch.Tensor]:
    """Token files (rank 0 encodes, the others wait), split by recording; returns the training
    windows dataset and the validation windows ``[n, K, W]``."""
    from dolphin.lm.data import (
        TokenWindows,
        load_codes,
        prepare_token_files,
        split_recordings,
        validation_windows,
    )

    data, n_q = task.data, task.codebooks(codec)
    cache = Path(data.cache_dir or Path(train.run_dir) / "tokens")
    if runtime.is_main:
        prepare_token_files(data, codec, cache, seed=train.seed, progress=train.progress, n_q=n_q)
    if runtime.distributed:
        torch.distributed.barrier()
    files = prepare_token_files(data, codec, cache, seed=train.seed, n_q=n_q)
    train_files, val_files = split_recordings(files, val_share=data.val_share, seed=train.seed)
    codec_hash = codec.identity_hash()
    train_codes = load_codes(train_files, codec_hash=codec_hash, min_frames=data.min_frames)
    val_codes = load_codes(val_files, codec_hash=codec_hash, min_frames=data.min_frames)
    windows = TokenWindows(train_codes, window_frames=data.window_frames, seed=train.seed)
    val = validation_windows(
        val_codes, window_frames=data.window_frames, max_windows=task.val_windows
    )
    return windows, val


def train_lm(
    lm_config: LMConfig,
    codec_config: CodecConfig,
    train: TrainConfig,
    task: LMTrainConfig,
    *,
    config_dump: dict[str, Any] | None = None,
) -> Path:
    """Train (or resume training) the sound-token LM; returns the exported model folder.

    Parameters
    ----------
    lm_config, codec_config, train, task : dataclasses
        The ``lm``, ``codec``, ``train`` and ``lm_train`` config groups (``codec`` is only
        used when ``lm_train.codec`` is empty).
    config_dump : dict, optional
        The whole composed config, written to ``run_dir/config.json`` for the record.

    Returns
    -------
    Path
        ``run_dir/model``, loadable with :meth:`dolphin.lm.SoundLM.from_pretrained`.
    """

    codec = build_codec(task, codec_config)
    bound = lm_config.bind(
        n_codebooks=task.codebooks(codec),
        codebook_size=codec.config.codebook_size,
        codec_hash=codec.identity_hash(),
        frame_rate_hz=codec.frame_rate,
    )
    bound = replace(bound, context_frames=task.data.window_frames)  # the positions it will see
    trainer = LMTrainer(bound, train)
    rt, run_dir = trainer.runtime, trainer.run_dir
    data, val = prepare_data(task, codec, train, rt)  # before restore: it may use the RNG
    resumed = trainer.restore()
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        codec.save(run_dir / "codec")
        if config_dump is not None:
            dump = {**config_dump, "lm": bound.to_dict()}
            (run_dir / "config.json").write_text(json.dumps(dump, indent=2) + "\n")
    run_steps(
        trainer,
        _loader(data, trainer),
        val,
        train=train,
        desc="lm" + (" (resumed)" if resumed else ""),
        best_key="val_bits_per_token",
        postfix_keys=("bits_per_token",),
    )
    if rt.is_main:
        summary = {
            "step": trainer.step,
            "best_val_bits_per_token": trainer.best_val,
            "parameters": trainer.lm.num_parameters,
            "codec_hash": bound.codec_hash,
            **asdict(train),
        }
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return run_dir / "model"
