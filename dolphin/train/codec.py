"""Codec training (``dolphin train task=codec``): reconstruction + adversarial, resumable, DDP.

Each step encodes and decodes a batch of crops, scores the reconstruction with the
multi-resolution STFT, full-band log-filterbank and waveform losses and the decoder spectrum's
compressed-magnitude, phase-difference and tonal log-magnitude losses, adds the commitment loss
and, once ``adversarial_start_step`` is reached, the multi-scale STFT discriminator's hinge loss
and feature matching. Terms that depend on the decoded audio are either summed with fixed
weights or passed through the EnCodec gradient balancer (``loss.balancer=true``).

The run folder holds ``checkpoints/step_*/`` (safetensors + JSON, see
:mod:`dolphin.train.checkpoint`), ``metrics.csv``, ``config.json``, and ``model/`` and ``best/``:
the codec as :meth:`dolphin.codec.Codec.save` writes it; ``val.csv`` holds the held-out scores, ready for ``Codec.load``.
"""

from __future__ import annotations

import inspect
import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from dolphin.codec import Codec, CodecConfig
from dolphin.codec.discriminator import (
    DiscriminatorConfig,
    MultiScaleSTFTDiscriminator,
    hinge_discriminator_loss,
    hinge_generator_loss,
)
from dolphin.codec.losses import (
    LossBalancer,
    ReconstructionLoss,
    feature_matching_loss,
    spectrum_losses,
    tonal_log_loss,
)
from dolphin.errors import ConfigError
from dolphin.train.checkpoint import find_latest_checkpoint, load_checkpoint, save_checkpoint
from dolphin.train.codec_data import CodecCrops, CodecDataConfig, StepBatches, validation_batch
from dolphin.train.loop import Runtime, TrainConfig, learning_rate, setup_runtime
from dolphin.train.runner import run_steps


@dataclass
class CodecLossConfig:
    """Loss terms and the adversarial set-up (mirrors ``codec_train.loss``)."""

    stft_weight: float = 1.0  # multi-resolution log-STFT magnitude loss
    mel_weight: float = 1.0  # full-band log-filterbank loss (500 Hz to Nyquist, not a speech mel)
    waveform_weight: float = 0.1  # waveform L1: keeps phase and clicks' polarity honest
    spectrum_weight: float = 4.0  # compressed-magnitude error of the decoder's own spectrum
    phase_weight: float = 1.0  # instantaneous-frequency + group-delay error of that spectrum
    tonal_weight: float = 4.0  # magnitude-weighted log error of that spectrum (whistle level)
    commitment_weight: float = 1.0  # pulls encoder outputs towards their codes
    balancer: bool = False  # EnCodec gradient balancer instead of fixed weights
    adversarial: bool = True  # train the MS-STFT discriminator and use its losses
    adversarial_start_step: int = 2000  # reconstruction-only steps first (stable codebooks)
    adversarial_weight: float = 1.0  # hinge generator loss
    feature_weight: float = 3.0  # feature matching (relative L1 of discriminator activations)
    disc_channels: int = 16  # discriminator conv channels (its cost grows with the square)
    disc_scales: int = 4  # STFT resolutions of the discriminator
    disc_lr: float = 3e-4  # discriminator learning rate (Adam, same betas)


@dataclass
class CodecTrainConfig:
    """Everything codec training needs beyond the model and the loop (``conf/codec_train``)."""

    loss: CodecLossConfig = field(default_factory=CodecLossConfig)
    data: CodecDataConfig = field(default_factory=CodecDataConfig)
    # Fine-tune the decoder alone: the encoder and the codebooks stay frozen (no gradients, no
    # EMA updates), so every code is unchanged and token files and LMs stay valid.
    decoder_only: bool = False
    val_crops: int = 16  # held-out crops scored at every evaluation


def si_snr_db(estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """Scale-invariant SNR in dB per item: ``[B, 1, T]`` x2 -> ``[B]``."""
    ref = reference - reference.mean(-1, keepdim=True)
    est = estimate - estimate.mean(-1, keepdim=True)
    scale = (est * ref).sum(-1, keepdim=True) / ref.square().sum(-1, keepdim=True).clamp(min=1e-12)
    target = scale * ref
    ratio = target.square().sum(-1) / (est - target).square().sum(-1).clamp(min=1e-12)
    return 10.0 * torch.log10(ratio.clamp(min=1e-12)).flatten()


class CodecTrainer:
    """Owns the models, optimizers, data and run folder of one codec training run.

    Parameters
    ----------
    codec_config : CodecConfig
        Architecture of the codec to train.
    train : TrainConfig
        Loop settings.
    task : CodecTrainConfig
        Losses and data.
    """

    def __init__(
        self, codec_config: CodecConfig, train: TrainConfig, task: CodecTrainConfig
    ) -> None:
        self.train_cfg, self.task = train, task
        self.runtime: Runtime = setup_runtime(train)
        self.run_dir = Path(train.run_dir)
        torch.manual_seed(train.seed)
        random.seed(train.seed)  # quantizer dropout draws n_q from Python's generator
        self.codec = Codec(codec_config).to(self.runtime.device)
        sr = codec_config.sample_rate
        loss = task.loss
        self.recon = ReconstructionLoss(
            sr,
            stft_weight=loss.stft_weight,
            mel_weight=loss.mel_weight,
            waveform_weight=loss.waveform_weight,
        ).to(self.runtime.device)
        disc_cfg = DiscriminatorConfig(channels=loss.disc_channels, n_scales=loss.disc_scales)
        self.disc = MultiScaleSTFTDiscriminator(sr, disc_cfg).to(self.runtime.device)
        betas = (train.beta1, train.beta2)
        if task.decoder_only:
            if not train.init_from:
                raise ConfigError("codec_train.decoder_only=true needs train.init_from (a codec)")
            self.codec.encoder.requires_grad_(False)
            self.codec.quantizer.frozen = True
        self.opt = torch.optim.AdamW(
            [p for p in self.codec.parameters() if p.requires_grad],
            lr=train.lr,
            betas=betas,
            weight_decay=train.weight_decay,
        )
        self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=loss.disc_lr, betas=betas)
        weights = dict(self.recon.weights, adv=loss.adversarial_weight, feat=loss.feature_weight)
        self.balancer = LossBalancer(weights) if loss.balancer else None
        self.step = 0
        self.best_val = float("inf")
        self.model = self.codec
        self.disc_model = self.disc
        if self.runtime.distributed:
            from torch.nn.parallel import DistributedDataParallel as DDP

            ids = [self.runtime.local_rank] if self.runtime.device.type == "cuda" else None
            # The codebooks are buffers kept in step by the quantizer's own all-reduce; DDP must
            # not overwrite them from rank 0 at every forward.
            sync = "forward_sync_buffers" in inspect.signature(DDP).parameters
            buffers = {"forward_sync_buffers" if sync else "broadcast_buffers": False}
            self.model = DDP(self.codec, device_ids=ids, **buffers)
            self.disc_model = DDP(self.disc, device_ids=ids, **buffers)

    # ------------------------------------------------------------------ state
    def _modules(self) -> dict[str, torch.nn.Module]:
        return {"codec": self.codec, "disc": self.disc}

    def _optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"codec": self.opt, "disc": self.opt_d}

    def _extra(self) -> dict[str, Any]:
        balancer = None
        if self.balancer is not None:
            balancer = {"sum": self.balancer._sum, "count": self.balancer._count}
        return {"best_val": self.best_val, "balancer": balancer}

    def export(self, folder: Path) -> None:
        """Save the codec (``config.json`` + ``model.safetensors``) to ``folder``."""
        self.codec.save(folder)

    def save(self) -> Path:
        """Write a checkpoint of the current step (rank 0 only); returns its folder."""
        return save_checkpoint(
            self.run_dir / "checkpoints",
            self.step,
            modules=self._modules(),
            optimizers=self._optimizers(),
            extra=self._extra(),
            keep=self.train_cfg.keep_checkpoints,
        )

    def restore(self) -> bool:
        """Resume from the newest checkpoint, or start from ``init_from``; True if resumed."""
        latest = find_latest_checkpoint(self.run_dir / "checkpoints")
        if self.train_cfg.resume and latest is not None:
            ckpt = load_checkpoint(latest, modules=self._modules(), optimizers=self._optimizers())
            self.step = ckpt.step
            self.best_val = float(ckpt.extra.get("best_val", float("inf")))
            saved = ckpt.extra.get("balancer")
            if self.balancer is not None and saved:
                self.balancer._sum, self.balancer._count = saved["sum"], saved["count"]
            return True
        if self.train_cfg.init_from:
            start = Codec.load(self.train_cfg.init_from)
            if start.config != self.codec.config:
                raise ConfigError(
                    f"train.init_from={self.train_cfg.init_from}: its codec config differs from "
                    "the one being trained"
                )
            self.codec.load_state_dict(start.state_dict())
        return False

    # ------------------------------------------------------------------ steps
    def adversarial_active(self) -> bool:
        """True once the discriminator takes part (``adversarial_start_step`` reached)."""
        loss = self.task.loss
        return loss.adversarial and self.step >= loss.adversarial_start_step

    def train_step(self, batch: torch.Tensor) -> dict[str, float]:
        """One optimisation step on ``batch`` ``[B, 1, T]``; returns scalar metrics."""
        cfg, loss_cfg = self.train_cfg, self.task.loss
        lr = learning_rate(cfg, self.step)
        for group in self.opt.param_groups:
            group["lr"] = lr
        for group in self.opt_d.param_groups:
            group["lr"] = loss_cfg.disc_lr * lr / cfg.lr
        x = batch.to(self.runtime.device, non_blocking=True)
        out = self.model(x)
        terms = {k: v for k, v in self.recon(out.audio, x).as_dict().items()}
        metrics: dict[str, float] = {}
        if self.adversarial_active():
            real = self.disc_model(x)
            fake = self.disc_model(out.audio.detach())
            d_loss = hinge_discriminator_loss(real.logits, fake.logits)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()
            fake = self.disc_model(out.audio)
            terms["adv"] = hinge_generator_loss(fake.logits)
            terms["feat"] = feature_matching_loss(fake.features, real.features)
            metrics["d_loss"] = float(d_loss.detach())
        self.opt.zero_grad(set_to_none=True)
        spec_mag, spec_phase = spectrum_losses(out.spectrum, out.target_spectrum)
        spec_tonal = tonal_log_loss(out.spectrum, out.target_spectrum)
        commit = (
            loss_cfg.commitment_weight * out.commitment_loss
            + loss_cfg.spectrum_weight * spec_mag
            + loss_cfg.phase_weight * spec_phase
            + loss_cfg.tonal_weight * spec_tonal
        )
        if self.balancer is not None:
            commit.backward(retain_graph=True)
            self.balancer.backward(terms, out.audio)
        else:
            weights = dict(self.recon.weights, adv=loss_cfg.adversarial_weight)
            weights["feat"] = loss_cfg.feature_weight
            total = sum(weights[k] * v for k, v in terms.items()) + commit
            total.backward()
        if cfg.grad_clip > 0:
            norm = torch.nn.utils.clip_grad_norm_(self.codec.parameters(), cfg.grad_clip)
            metrics["grad_norm"] = float(norm)
        self.opt.step()
        self.step += 1
        metrics.update({k: float(v.detach()) for k, v in terms.items()})
        metrics.update(
            commit=float(out.commitment_loss.detach()),
            spec_mag=float(spec_mag.detach()),
            spec_phase=float(spec_phase.detach()),
            spec_tonal=float(spec_tonal.detach()),
            perplexity=float(out.perplexity.float().mean()),
            n_q=float(out.n_q),
            lr=lr,
        )
        return metrics

    @torch.no_grad()
    def evaluate(self, batch: torch.Tensor) -> dict[str, float]:
        """Score held-out crops ``[B, 1, T]`` with all codebooks and with half of them."""
        self.codec.eval()
        x = batch.to(self.runtime.device)
        result: dict[str, float] = {}
        for n_q, tag in ((self.codec.n_q, "val"), (max(1, self.codec.n_q // 2), "val_half")):
            out = self.codec(x, n_q=n_q)
            for name, value in self.recon(out.audio, x).as_dict().items():
                result[f"{tag}_{name}"] = float(value)
            spec_mag, spec_phase = spectrum_losses(out.spectrum, out.target_spectrum)
            result[f"{tag}_spec_mag"] = float(spec_mag)
            result[f"{tag}_spec_phase"] = float(spec_phase)
            result[f"{tag}_spec_tonal"] = float(tonal_log_loss(out.spectrum, out.target_spectrum))
            result[f"{tag}_sisnr_db"] = float(si_snr_db(out.audio, x).median())
        self.codec.train()
        return result


def _loader(data: CodecCrops, trainer: CodecTrainer) -> torch.utils.data.DataLoader:
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
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        pin_memory=trainer.runtime.device.type == "cuda",
        # Its own generator: creating the iterator must not draw from the global RNG, which the
        # quantizer uses and a checkpoint restores (exact resume).
        generator=torch.Generator().manual_seed(trainer.train_cfg.seed),
    )


def train_codec(
    codec_config: CodecConfig,
    train: TrainConfig,
    task: CodecTrainConfig,
    *,
    config_dump: dict[str, Any] | None = None,
) -> Path:
    """Train (or resume training) a codec; returns the exported model folder.

    Parameters
    ----------
    codec_config, train, task : dataclasses
        The ``codec``, ``train`` and ``codec_train`` config groups.
    config_dump : dict, optional
        The whole composed config, written to ``run_dir/config.yaml`` for the record.

    Returns
    -------
    Path
        ``run_dir/model``, loadable with :meth:`dolphin.codec.Codec.load`.
    """
    trainer = CodecTrainer(codec_config, train, task)
    rt, run_dir = trainer.runtime, trainer.run_dir
    resumed = trainer.restore()
    if rt.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if config_dump is not None:
            (run_dir / "config.json").write_text(json.dumps(config_dump, indent=2) + "\n")
    sr = codec_config.sample_rate
    data = CodecCrops(task.data, sample_rate=sr, seed=train.seed)
    val = validation_batch(task.data, sample_rate=sr, n_crops=task.val_crops, seed=train.seed)
    desc = "codec" + (" (resumed)" if resumed else "")
    run_steps(
        trainer,
        _loader(data, trainer),
        val,
        train=train,
        desc=desc,
        best_key="val_spec_mag",
        postfix_keys=("mel", "stft"),
    )
    if rt.is_main:
        summary = {"step": trainer.step, "best_val_spec_mag": trainer.best_val, **asdict(train)}
        (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return run_dir / "model"
