"""Multi-scale STFT discriminator (EnCodec's MS-STFTD) and adversarial losses.

Each sub-discriminator takes the complex STFT of the audio at one resolution, real and
imaginary parts as two channels of a time x frequency image, and runs 2-D convolutions that
stride over frequency and dilate over time. Window sizes are set in milliseconds, so the
discriminator looks at the same time scales at 48, 96 or 192 kHz (5 scales from ~43 ms down to
~2.7 ms; 4096 .. 256 samples at 96 kHz).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from dolphin.codec.losses import window_samples


@dataclass
class DiscriminatorConfig:
    """Hyper-parameters of :class:`MultiScaleSTFTDiscriminator`."""

    channels: int = 32  # conv channels of every sub-discriminator
    n_scales: int = 5  # resolutions, each window half the previous one
    largest_window_ms: float = 42.7  # longest STFT window (4096 samples at 96 kHz)
    use_weight_norm: bool = True  # weight normalisation on every conv (stabilises GAN training)


@dataclass
class DiscriminatorOutput:
    """Logits and feature maps of every sub-discriminator."""

    logits: list[torch.Tensor]  # per scale [B, 1, frames', bins']
    features: list[list[torch.Tensor]]  # per scale, the activations after each conv


class STFTDiscriminator(nn.Module):
    """One resolution of the MS-STFT discriminator.

    Parameters
    ----------
    n_fft : int
        Window in samples; hop is ``n_fft / 4``.
    channels : int
        Conv channels.
    use_weight_norm : bool
        Wrap the convs in weight normalisation.
    """

    def __init__(self, n_fft: int, *, channels: int = 32, use_weight_norm: bool = True) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        norm = weight_norm if use_weight_norm else (lambda m: m)
        convs = [norm(nn.Conv2d(2, channels, (3, 9), padding=(1, 4)))]
        for dilation in (1, 2, 4):
            convs.append(
                norm(
                    nn.Conv2d(
                        channels,
                        channels,
                        (3, 9),
                        stride=(1, 2),
                        dilation=(dilation, 1),
                        padding=(dilation, 4),
                    )
                )
            )
        convs.append(norm(nn.Conv2d(channels, channels, (3, 3), padding=(1, 1))))
        self.convs = nn.ModuleList(convs)
        self.post = norm(nn.Conv2d(channels, 1, (3, 3), padding=(1, 1)))

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        """``[B, 1, T]`` -> one logit map ``[B, 1, frames, bins']`` and its feature maps."""
        x = audio.reshape(-1, audio.shape[-1])
        if x.shape[-1] < self.n_fft:
            x = F.pad(x, (0, self.n_fft - x.shape[-1]))
        spec = torch.stft(
            x,
            self.n_fft,
            self.n_fft // 4,
            window=self.window,
            center=False,
            normalized=True,
            return_complex=True,
        )  # [B, bins, frames]
        h = torch.view_as_real(spec).permute(0, 3, 2, 1)  # [B, 2, frames, bins]
        features = []
        for conv in self.convs:
            h = F.leaky_relu(conv(h), 0.2)
            features.append(h)
        return DiscriminatorOutput(logits=[self.post(h)], features=[features])


class MultiScaleSTFTDiscriminator(nn.Module):
    """STFT discriminators at several resolutions scaled to the sample rate.

    Parameters
    ----------
    sample_rate : int
        Hz.
    config : DiscriminatorConfig, optional
        Channels, scales and window sizes.
    """

    def __init__(self, sample_rate: int, config: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        self.config = config or DiscriminatorConfig()
        largest = window_samples(sample_rate, self.config.largest_window_ms)
        self.n_ffts = [max(largest // 2**i, 16) for i in range(self.config.n_scales)]
        self.discriminators = nn.ModuleList(
            STFTDiscriminator(
                n, channels=self.config.channels, use_weight_norm=self.config.use_weight_norm
            )
            for n in self.n_ffts
        )

    def forward(self, audio: torch.Tensor) -> DiscriminatorOutput:
        """Judge ``audio`` ``[B, 1, T]``.

        Returns
        -------
        DiscriminatorOutput
            One logit map and feature list per resolution.
        """
        logits, features = [], []
        for disc in self.discriminators:
            out = disc(audio)
            logits += out.logits
            features += out.features
        return DiscriminatorOutput(logits=logits, features=features)


def hinge_discriminator_loss(
    real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]
) -> torch.Tensor:
    """Hinge loss of the discriminator: ``mean(relu(1 - real)) + mean(relu(1 + fake))``, averaged."""
    terms = [
        F.relu(1 - r).mean() + F.relu(1 + f).mean()
        for r, f in zip(real_logits, fake_logits, strict=True)
    ]
    return torch.stack(terms).mean()


def hinge_generator_loss(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Hinge loss of the generator (codec): ``mean(relu(1 - fake))``, averaged over scales."""
    return torch.stack([F.relu(1 - f).mean() for f in fake_logits]).mean()


def lsgan_discriminator_loss(
    real_logits: list[torch.Tensor], fake_logits: list[torch.Tensor]
) -> torch.Tensor:
    """Least-squares GAN loss of the discriminator: ``mean((1 - real)^2) + mean(fake^2)``."""
    terms = [
        (1 - r).square().mean() + f.square().mean()
        for r, f in zip(real_logits, fake_logits, strict=True)
    ]
    return torch.stack(terms).mean()


def lsgan_generator_loss(fake_logits: list[torch.Tensor]) -> torch.Tensor:
    """Least-squares GAN loss of the generator: ``mean((1 - fake)^2)``, averaged over scales."""
    return torch.stack([(1 - f).square().mean() for f in fake_logits]).mean()
