"""Event-classifier training (``dolphin train task=classifier``): frame-wise BCE, resumable.

Data
----
Training scenes are synthetic (:mod:`dolphin.synth.scene`): ocean noise, shrimp, vessels and
echoes, with parametric whistles, SIGWI-rendered real contours, burst pulses, click trains and
buzzes at raised rates, every event at an SNR uniform in ``[snr_db_min, snr_db_max]``. Scene
``s`` has seed ``derive_seed(train.seed, s)`` and population ``1000 + s % n_populations``;
validation scenes use ``derive_seed(train.seed + VAL_SEED_OFFSET, j)`` and benchmarks use small
integer seeds and population 0, so none of those are trained on. ``n_scenes`` scenes are cycled,
each rendered once per process (its feature image and frame targets are cached, ~0.5 MB per
8 s), and item ``i`` is a random crop of scene ``(i // crops_per_scene) % n_scenes`` drawn from
``(train.seed, i)``: data order is a function of the index, so a resumed run is exact.

Loop
----
AdamW with warm-up + cosine learning rate (:mod:`dolphin.train.loop`, ``conf/train``), binary
cross-entropy per class and output frame (4 ms), gradient clipping. The run folder holds
``checkpoints/step_*/`` (safetensors + JSON), ``metrics.csv``, ``val.csv`` (held-out loss and
frame F1 per class at 0.5), ``config.json``, and ``model/`` and ``best/`` (lowest validation
loss), loadable with :meth:`dolphin.detect.classifier.EventClassifier.load`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dolphin.detect.classifier import CLASSES, ClassifierConfig, EventClassifier
from dolphin.detect.features import compute_features, frame_targets
from dolphin.errors import ConfigError
from dolphin.synth.scene import SceneConfig, derive_seed, make_scene
from dolphin.train.checkpoint import find_latest_checkpoint, load_checkpoint, save_checkpoint
from dolphin.train.codec_data import TRAIN_POPULATION_BASE, StepBatches
from dolphin.train.loop import TrainConfig, learning_rate, setup_runtime
from dolphin.train.runner import run_steps

#: Validation scenes take their seeds from ``train.seed + VAL_SEED_OFFSET``.
VAL_SEED_OFFSET = 7919


@dataclass
class ClassifierTrainConfig:
    """Data of classifier training (mirrors ``conf/classifier_train``); loop settings: ``train``."""

    scene_s: float = 8.0  # length of a generated scene, seconds
    crop_s: float = 2.0  # training crop, seconds (the network sees +-0.5 s)
    crops_per_scene: int = 4  # crops cut from a scene per pass
    n_scenes: int = 800  # distinct training scenes, cycled (cached after first use)
    sample_rates: list[int] = field(default_factory=lambda: [96000, 96000, 96000, 192000])
    snr_db_min: float = -3.0  # event SNR range, dB (below ~0 dB pulsed events fade out)
    snr_db_max: float = 25.0  # upper end of the SNR range, dB
    n_populations: int = 32  # synthetic populations (whistle repertoires) cycled
    whistle_rate_per_min: float = 8.0  # parametric whistles of shared types
    sigwi_whistle_rate_per_min: float = 8.0  # whistles rendered from real SIGWI contours
    signature_bout_rate_per_min: float = 1.5  # bouts of 2-6 signature whistles
    burst_pulse_rate_per_min: float = 8.0  # burst pulses
    click_train_rate_per_min: float = 8.0  # echolocation click trains
    buzz_rate_per_min: float = 8.0  # terminal buzzes
    val_scenes: int = 8  # held-out 96 kHz scenes scored at every evaluation

    def __post_init__(self) -> None:
        if not 0 < self.crop_s <= self.scene_s:
            raise ConfigError(
                f"classifier_train: need 0 < crop_s <= scene_s, got {self.crop_s}, {self.scene_s}"
            )
        if min(self.crops_per_scene, self.n_scenes, self.n_populations) < 1:
            raise ConfigError("classifier_train.crops_per_scene, n_scenes, n_populations >= 1")
        if not self.sample_rates or min(self.sample_rates) < 32000:
            raise ConfigError("classifier_train.sample_rates: give rates of 32000 Hz or more")
        if self.snr_db_min > self.snr_db_max or self.val_scenes < 0:
            raise ConfigError("classifier_train: need snr_db_min <= snr_db_max, val_scenes >= 0")

    def scene_config(self, sample_rate: int, population: int) -> SceneConfig:
        """Scene settings of one training or validation scene."""
        rates = {k: v for k, v in asdict(self).items() if k.endswith("_per_min")}
        return SceneConfig(
            sample_rate=int(sample_rate),
            duration_s=self.scene_s,
            population_seed=TRAIN_POPULATION_BASE + population,
            snr_db_min=self.snr_db_min,
            snr_db_max=self.snr_db_max,
            **rates,
        )


def scene_example(
    task: ClassifierTrainConfig, model: ClassifierConfig, *, sample_rate: int, seed: int, pop: int
) -> tuple[np.ndarray, np.ndarray]:
    """Feature image ``[F, N]`` (float16) and frame targets ``[K, N // 2]`` of one scene."""
    scene = make_scene(task.scene_config(sample_rate, pop), seed=seed)
    feats = compute_features(scene.samples[0], sample_rate=sample_rate, config=model.features)
    hop_s = model.features.hop_length(sample_rate) / sample_rate
    n = feats.shape[1] // 2
    targets = frame_targets(scene.events, CLASSES, n_frames=n, hop_s=2 * hop_s, start_s=hop_s / 2)
    return feats.astype(np.float16), targets.astype(np.uint8)


class ClassifierCrops(torch.utils.data.Dataset):
    """Item ``i``: ``(features [1, F, 2W], targets [K, W])`` of a random crop (module docstring)."""

    def __init__(self, task: ClassifierTrainConfig, model: ClassifierConfig, *, seed: int) -> None:
        self.task, self.model, self.seed = task, model, int(seed)
        self.width = int(round(task.crop_s / (2 * model.features.hop_s)))  # output frames
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __len__(self) -> int:  # pragma: no cover - indexed by StepBatches, unbounded
        return 2**62

    def scene(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """Cached example of training scene ``s``."""
        if s not in self._cache:
            rate = self.task.sample_rates[s % len(self.task.sample_rates)]
            seed, pop = derive_seed(self.seed, s), s % self.task.n_populations
            self._cache[s] = scene_example(
                self.task, self.model, sample_rate=rate, seed=seed, pop=pop
            )
        return self._cache[s]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        feats, targets = self.scene((index // self.task.crops_per_scene) % self.task.n_scenes)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.seed, index])))
        w = min(self.width, targets.shape[1])
        start = int(rng.integers(0, targets.shape[1] - w + 1))
        x = torch.from_numpy(feats[:, 2 * start : 2 * (start + w)].astype(np.float32))
        return x[None], torch.from_numpy(targets[:, start : start + w].astype(np.float32))


def validation_set(
    task: ClassifierTrainConfig, model: ClassifierConfig, *, seed: int
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Held-out whole scenes at 96 kHz: ``(features [1, 1, F, 2W], targets [1, K, W])``."""
    out = []
    for j in range(task.val_scenes):
        vseed, pop = derive_seed(seed + VAL_SEED_OFFSET, j), task.n_populations + j
        feats, targets = scene_example(task, model, sample_rate=96000, seed=vseed, pop=pop)
        n = targets.shape[1]
        out.append(
            (torch.from_numpy(feats[None, None, :, : 2 * n].astype(np.float32)),
             torch.from_numpy(targets[None].astype(np.float32)))
        )  # fmt: skip
    return out


class ClassifierTrainer:
    """Owns the model, optimizer and run folder of one classifier training run."""

    def __init__(self, model_config: ClassifierConfig, train: TrainConfig) -> None:
        self.train_cfg = train
        self.runtime = setup_runtime(train)
        self.run_dir = Path(train.run_dir)
        torch.manual_seed(train.seed)
        self.model = EventClassifier(model_config).to(self.runtime.device)
        self.opt = torch.optim.AdamW(
            self.model.parameters(),
            lr=train.lr,
            betas=(train.beta1, train.beta2),
            weight_decay=train.weight_decay,
        )
        self.step = 0
        self.best_val = float("inf")
        self.net: torch.nn.Module = self.model
        if self.runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.runtime.local_rank] if self.runtime.device.type == "cuda" else None
            self.net = DDP(self.model, device_ids=ids)

    def export(self, folder: Path) -> None:
        """Save the classifier (``config.json`` + ``model.safetensors``) to ``folder``."""
        self.model.save(folder)

    def save(self) -> Path:
        """Write a checkpoint of the current step; returns its folder."""
        return save_checkpoint(
            self.run_dir / "checkpoints",
            self.step,
            modules={"classifier": self.model},
            optimizers={"classifier": self.opt},
            extra={"best_val": self.best_val},
            keep=self.train_cfg.keep_checkpoints,
        )

    def restore(self) -> bool:
        """Resume from the newest checkpoint, or start from ``init_from``; True if resumed."""
        latest = find_latest_checkpoint(self.run_dir / "checkpoints")
        if self.train_cfg.resume and latest is not None:
            ckpt = load_checkpoint(
                latest, modules={"classifier": self.model}, optimizers={"classifier": self.opt}
            )
            self.step, self.best_val = ckpt.step, float(ckpt.extra.get("best_val", float("inf")))
            return True
        if self.train_cfg.init_from:
            start = EventClassifier.load(self.train_cfg.init_from)
            if start.config.to_dict() != self.model.config.to_dict():
                raise ConfigError(
                    f"train.init_from={self.train_cfg.init_from}: its classifier config differs"
                )
            self.model.load_state_dict(start.state_dict())
        return False

    def train_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> dict[str, float]:
        """One optimisation step on ``(features [B, 1, F, 2W], targets [B, K, W])``."""
        cfg, device = self.train_cfg, self.runtime.device
        lr = learning_rate(cfg, self.step)
        for group in self.opt.param_groups:
            group["lr"] = lr
        x, y = (t.to(device, non_blocking=True) for t in batch)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(self.net(x), y)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        metrics = {"loss": float(loss.detach()), "lr": lr}
        if cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            metrics["grad_norm"] = float(norm)
        self.opt.step()
        self.step += 1
        return metrics

    @torch.no_grad()
    def evaluate(self, val: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, float]:
        """Held-out loss and frame-level F1 per class (threshold 0.5)."""
        if not val:
            return {"val_loss": float("inf")}
        self.model.eval()
        device, loss, tp, pred, true = self.runtime.device, 0.0, 0, 0, 0
        for x, y in val:
            logits = self.model(x.to(device)).cpu()
            loss += float(torch.nn.functional.binary_cross_entropy_with_logits(logits, y))
            hit = logits > 0
            tp, pred = tp + (hit & (y > 0)).sum((0, 2)), pred + hit.sum((0, 2))
            true = true + (y > 0).sum((0, 2))
        self.model.train()
        out = {"val_loss": loss / max(1, len(val))}
        for k, name in enumerate(CLASSES):
            denom = float(pred[k] + true[k])
            out[f"val_f1_{name}"] = 2 * float(tp[k]) / denom if denom else 0.0
        return out


def train_classifier(
    model_config: ClassifierConfig,
    train: TrainConfig,
    task: ClassifierTrainConfig,
    *,
    config_dump: dict[str, Any] | None = None,
) -> Path:
    """Train (or resume training) the event classifier; returns the exported model folder.

    Parameters
    ----------
    model_config, train, task : dataclasses
        The ``classifier``, ``train`` and ``classifier_train`` config groups.
    config_dump : dict, optional
        The whole composed config, written to ``run_dir/config.json`` for the record.

    Returns
    -------
    Path
        ``run_dir/model``, loadable with :meth:`EventClassifier.load`.
    """
    trainer = ClassifierTrainer(model_config, train)
    rt, run_dir = trainer.runtime, trainer.run_dir
    resumed = trainer.restore()
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if config_dump is not None:
            (run_dir / "config.json").write_text(json.dumps(config_dump, indent=2) + "\n")
    data = ClassifierCrops(task, model_config, seed=train.seed)
    val = validation_set(task, model_config, seed=train.seed)
    sampler = StepBatches(
        train.batch_size, start_step=trainer.step, rank=rt.rank, world_size=rt.world_size
    )
    loader = torch.utils.data.DataLoader(
        data,
        batch_sampler=sampler,
        num_workers=train.num_workers,
        prefetch_factor=4 if train.num_workers else None,
        generator=torch.Generator(),  # keeps the loader off the global RNG (exact resume)
    )
    desc = "classifier" + (" (resumed)" if resumed else "")
    run_steps(
        trainer, loader, val, train=train, desc=desc, best_key="val_loss", postfix_keys=("loss",)
    )
    if rt.is_main:
        n_params = sum(p.numel() for p in trainer.model.parameters())
        summary = {"step": trainer.step, "best_val_loss": trainer.best_val, "parameters": n_params}
        (run_dir / "summary.json").write_text(json.dumps({**summary, **asdict(train)}, indent=2))
    return run_dir / "model"
