"""Building blocks of the codec: causal convolutions over frames, residual units, the encoder
and the decoder.

All layers work time-major, ``[B, T, C]`` (``T`` frames), because every convolution here is a
matrix product over a few stacked taps and ``nn.Linear`` wants channels last. Each stateful
layer takes an optional ``cache`` dict: ``None`` means "a whole signal from its start" (zero
history), a dict carries the history of a stream between calls under the layer's
``cache_key``. The decoder uses the same code for training, offline and streaming decoding,
which therefore differ only by float rounding; the encoder's inference twin, whose codes do not
depend on chunking at all, is :class:`dolphin.codec.exact.ExactEncoder`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from dolphin.codec.config import CodecConfig
from dolphin.codec.exact import rational_elu
from dolphin.codec.spectral import CausalISTFT, CompressedSpectrum


class CausalConv(nn.Module):
    """Causal dilated 1-D convolution over time-major frames, computed as one matrix product.

    Parameters
    ----------
    in_channels, out_channels : int
        Channel counts.
    kernel_size : int
        Taps; output frame ``t`` sees input frames ``t - (kernel_size - 1) * dilation .. t``.
    dilation : int
        Spacing of the taps in frames.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int = 3, dilation: int = 1
    ) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.context = (kernel_size - 1) * dilation
        # One matrix over the stacked taps (tap-major), initialised like nn.Linear.
        linear = nn.Linear(in_channels * kernel_size, out_channels)
        self.weight = nn.Parameter(linear.weight.detach().clone())
        self.bias = nn.Parameter(linear.bias.detach().clone())
        self.cache_key = ""

    def forward(self, x: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Apply the convolution.

        Parameters
        ----------
        x : Tensor
            ``[B, T, in_channels]``.
        cache : dict, optional
            Streaming state (the last ``context`` input frames); ``None`` = zero history.

        Returns
        -------
        Tensor
            ``[B, T, out_channels]``.
        """
        return F.linear(self.taps(x, cache), self.weight, self.bias)

    def taps(self, x: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Stack the ``kernel_size`` delayed copies of ``x``: ``[B, T, C] -> [B, T, k * C]``.

        Updates ``cache`` with the last ``context`` frames (float or exact float64 alike).
        """
        if self.context == 0:
            return x
        n = x.shape[1]
        prev = None if cache is None else cache.get(self.cache_key)
        if prev is None:
            prev = x.new_zeros(x.shape[0], self.context, x.shape[2])
        xx = torch.cat([prev, x], dim=1)
        if cache is not None:
            cache[self.cache_key] = xx[:, xx.shape[1] - self.context :]
        d = self.dilation
        return torch.cat([xx[:, i * d : i * d + n] for i in range(self.kernel_size)], dim=-1)


class ResidualUnit(nn.Module):
    """SEANet-style unit ``x + W elu(conv_k3_d(elu(x)))`` with a bottleneck of ``dim / 2``.

    Parameters
    ----------
    dim : int
        Channels in and out.
    dilation : int
        Dilation of the kernel-3 causal convolution, in frames.
    """

    def __init__(self, dim: int, dilation: int, activation: Callable = F.elu) -> None:
        super().__init__()
        hidden = max(dim // 2, 1)
        self.activation = activation
        self.conv = CausalConv(dim, hidden, 3, dilation)
        # No bias: the residual add is fused into one addmm.
        self.out_weight = nn.Parameter(nn.Linear(hidden, dim, bias=False).weight.detach().clone())

    def forward(self, x: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """``[B, T, dim] -> [B, T, dim]``."""
        act = self.activation
        h = act(self.conv(act(x), cache))
        out = torch.addmm(
            x.reshape(-1, x.shape[-1]), h.reshape(-1, h.shape[-1]), self.out_weight.t()
        )
        return out.view(x.shape)


def assign_cache_keys(root: nn.Module) -> None:
    """Give every stateful submodule of ``root`` its qualified name as ``cache_key``."""
    for name, module in root.named_modules():
        if hasattr(module, "cache_key"):
            module.cache_key = name or type(module).__name__


class Encoder(nn.Module):
    """Causal STFT -> per-frame projection -> dilated residual units -> latent.

    The activation is :func:`~dolphin.codec.exact.rational_elu` so that
    :class:`~dolphin.codec.exact.ExactEncoder` can reproduce this network bit-exactly at
    inference; this float path serves training.

    Parameters
    ----------
    config : CodecConfig
        Uses the framing, ``encoder_*``, ``dilation_base`` and ``latent_dim`` fields.
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        self.spectrum = CompressedSpectrum(n_fft=config.n_fft, hop_length=config.hop_length)
        dim = config.encoder_dim
        self.proj = nn.Linear(self.spectrum.n_features, dim)
        self.units = nn.ModuleList(
            ResidualUnit(dim, config.dilation_base**i, rational_elu)
            for i in range(config.encoder_units)
        )
        self.out = nn.Linear(dim, config.latent_dim)
        assign_cache_keys(self)

    def forward(self, audio: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Encode whole hops of audio into latent frames.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, T]`` with ``T`` a multiple of the hop.
        cache : dict, optional
            Streaming state; ``None`` = the audio starts at time 0.

        Returns
        -------
        Tensor
            Latent ``[B, T / hop, D]`` (time-major).
        """
        h = self.proj(self.spectrum(audio, cache))
        for unit in self.units:
            h = unit(h, cache)
        return self.out(rational_elu(h))


class Decoder(nn.Module):
    """Latent frames -> dilated residual units -> per-frame MLP head -> (log-mag, phase) -> iSTFT.

    The head maps each token frame to the spectra of its ``decoder_upsample`` decoder frames:
    per decoder frame and bin a log-magnitude (clamped above at ``max_log_magnitude``) and two
    channels ``(x, y)`` whose angle ``atan2(y, x)`` is the phase, as in Vocos (computed as
    ``(x, y) / |(x, y)|``). The head's hidden width must be about the number of bins or more:
    a narrower linear map has too low a rank to place a sharp tonal peak on any bin, and
    whistles are exactly such peaks (measured: a 128-wide head never learned chirp frequencies).

    Parameters
    ----------
    config : CodecConfig
        Uses the ``decoder_*``, ``latent_dim``, ``dilation_base``, log-magnitude and framing
        fields.
    """

    def __init__(self, config: CodecConfig) -> None:
        super().__init__()
        dim = config.decoder_dim
        self.upsample = config.decoder_upsample
        self.max_log_magnitude = config.max_log_magnitude
        self.inp = CausalConv(config.latent_dim, dim, 3, 1)
        self.units = nn.ModuleList(
            ResidualUnit(dim, config.dilation_base**i) for i in range(config.decoder_units)
        )
        self.hidden = nn.Linear(dim, config.decoder_head_dim)
        self.istft = CausalISTFT(n_fft=config.decoder_n_fft, hop_length=config.decoder_hop)
        self.n_bins = config.decoder_n_fft // 2 + 1
        # Per decoder frame: interleaved (x_f, y_f) pairs, then log|X_f|, then one unused
        # channel so every row has an even length (a free view as complex numbers).
        self.row = 3 * self.n_bins + 1
        self.head = nn.Linear(config.decoder_head_dim, self.upsample * self.row)
        with torch.no_grad():
            # Start below the usual noise floor: a start above it makes every bin's
            # log-magnitude error push the shared trunk down at once, and the ELUs die
            # (measured: -8 collapsed to an input-independent output, -10 learned).
            bias = self.head.bias.view(self.upsample, self.row)
            bias[:, 2 * self.n_bins :].fill_(config.initial_log_magnitude)
        assign_cache_keys(self)

    def spectrum(self, z: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Predict the complex spectrum of each decoder frame.

        Parameters
        ----------
        z : Tensor
            Quantized latent ``[B, T, D]``.
        cache : dict, optional
            Streaming state.

        Returns
        -------
        Tensor
            Complex ``[B, T * decoder_upsample, decoder_n_fft // 2 + 1]``, scaled like
            :meth:`~dolphin.codec.spectral.CausalISTFT.analysis` (``norm="forward"``).
        """
        h = self.inp(z, cache)
        for unit in self.units:
            h = unit(h, cache)
        out = self.head(F.elu(self.hidden(F.elu(h))))  # [B, T, upsample * row]
        out = out.reshape(out.shape[0], out.shape[1] * self.upsample, self.row)
        n = self.n_bins
        xy = torch.view_as_complex(out[..., : 2 * n].unflatten(-1, (n, 2)))  # x + iy, no copy
        log_mag = out[..., 2 * n : 3 * n].clamp(max=self.max_log_magnitude)
        # (cos, sin) of atan2(y, x) is (x, y) / |x + iy|: the Vocos phase without the slow
        # atan2 / polar kernels; the floor keeps the gradient finite at the origin.
        return xy * (torch.exp(log_mag) / (xy.abs() + 1e-7))

    def forward(self, z: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Decode latent frames into audio.

        Parameters
        ----------
        z : Tensor
            Quantized latent ``[B, T, D]``.
        cache : dict, optional
            Streaming state; see :class:`~dolphin.codec.spectral.CausalISTFT` for which samples
            a streaming call returns.

        Returns
        -------
        Tensor
            ``[B, 1, T * hop]`` offline.
        """
        return self.istft(self.spectrum(z, cache), cache)
