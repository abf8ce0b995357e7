"""Causal STFT analysis and overlap-add synthesis for the codec, in torch.

Two modules, both usable offline (whole signal, zero history) and streaming (a ``cache`` dict
carries the history between calls):

* :class:`CompressedSpectrum` frames the signal so that frame ``t``'s window *ends* at sample
  ``(t + 1) * hop`` (no look-ahead) and returns the compressed complex spectrum
  ``|X|**0.25 * exp(i angle X)`` as real and imaginary parts: the encoder's input.
* :class:`CausalISTFT` turns one complex spectrum per decoder frame into a waveform by windowed
  overlap-add (Vocos style). Segment ``g`` covers samples ``[(g + 1) * hop - n_fft, (g + 1) *
  hop)``, so a sample is final only once the ``n_fft / hop - 1`` following segments are added:
  the decoder's share of the codec latency is ``n_fft - hop`` samples.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


def causal_frames(audio: torch.Tensor, *, n_fft: int, hop_length: int) -> torch.Tensor:
    """Cut a signal with ``n_fft - hop_length`` samples of history into causal frames.

    Parameters
    ----------
    audio : Tensor
        ``[B, n_fft - hop_length + F * hop_length]``: the history, then ``F`` new hops.
    n_fft : int
        Window length in samples.
    hop_length : int
        Hop in samples.

    Returns
    -------
    Tensor
        ``[B, F, n_fft]`` (a strided view); frame ``f`` ends at the end of new hop ``f``.
    """
    return audio.unfold(-1, n_fft, hop_length)


class CompressedSpectrum(nn.Module):
    """Causal STFT returning a quarter-power compressed spectrum: real, imaginary and magnitude.

    ``Y = X / |X|**0.75`` (magnitude ``|X|**0.25``, phase of ``X``) maps a 60 dB range onto
    15 dB. The power is fixed at 1/4 because ``|X|**0.75 = sqrt(|X|) * sqrt(sqrt(|X|))`` needs
    only square roots, which IEEE 754 rounds exactly: :meth:`forward_exact` relies on that.
    ``|Y|`` is given as well: from ``(Re Y, Im Y)`` alone, whose phase turns from frame to
    frame, a small network cannot tell at which frequency the energy is (measured: an encoder
    without ``|Y|`` never learned where a chirp was).

    Parameters
    ----------
    n_fft : int
        Analysis window (periodic Hann) in samples.
    hop_length : int
        Hop in samples; one output frame per hop.
    """

    def __init__(self, *, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.cache_key = "spectrum"
        window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
        # Scaled so that a full-scale sinusoid has a peak bin of magnitude ~1.
        window = window / (window.sum() / 2)
        self.register_buffer("window", window.float(), persistent=False)

    @property
    def n_bins(self) -> int:
        """Frequency bins ``n_fft // 2 + 1``."""
        return self.n_fft // 2 + 1

    @property
    def n_features(self) -> int:
        """Output features per frame: real and imaginary part of each bin, then magnitudes."""
        return 3 * self.n_bins

    def _frames(self, audio: torch.Tensor, cache: dict[str, Any] | None) -> torch.Tensor:
        x = audio[:, 0]
        history = self.n_fft - self.hop_length
        prev = None if cache is None else cache.get(self.cache_key)
        if prev is None:
            prev = x.new_zeros(x.shape[0], history)
        x = torch.cat([prev, x], dim=-1)
        if cache is not None:
            cache[self.cache_key] = x[:, x.shape[-1] - history :]
        return causal_frames(x, n_fft=self.n_fft, hop_length=self.hop_length)

    @staticmethod
    def _compress(spec: torch.Tensor) -> torch.Tensor:
        """``[..., bins]`` complex -> ``[..., 3 * bins]``: interleaved ``(Re Y, Im Y)``, ``|Y|``."""
        parts = torch.view_as_real(spec)  # [..., bins, 2]
        re, im = parts[..., 0], parts[..., 1]
        # The floor keeps silence at 0 / tiny = 0 and the gradient finite.
        mag = torch.sqrt(re * re + im * im + 1e-20)
        root = torch.sqrt(mag)
        quarter = torch.sqrt(root)  # |X| ** 0.25 = |Y|
        # |Y| less its value at the floor, so that silence stays exactly 0.
        floor = torch.sqrt(torch.sqrt(torch.sqrt(mag.new_tensor(1e-20))))
        compressed = (parts / (root * quarter)[..., None]).flatten(-2)
        return torch.cat([compressed, quarter - floor], dim=-1)

    def forward(self, audio: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Spectrum of the frames ending in ``audio`` (float path, used in training).

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, T]`` with ``T`` a multiple of ``hop_length``.
        cache : dict, optional
            Streaming state; ``None`` means zero history (start of a file).

        Returns
        -------
        Tensor
            ``[B, T / hop_length, 3 * n_bins]``: ``Re(Y_0), Im(Y_0), Re(Y_1), ..., |Y_0|, |Y_1|, ...``.
        """
        frames = self._frames(audio, cache) * self.window
        return self._compress(torch.fft.rfft(frames, dim=-1))

    def forward_exact(self, audio: torch.Tensor, cache: dict[str, Any]) -> torch.Tensor:
        """Same as :meth:`forward` with one FFT call per frame (chunking-invariant).

        Every frame goes through an FFT call of the same shape, whatever the number of frames
        per call, and the rest uses correctly rounded operations only, so the result of a frame
        does not depend on how the signal was chunked (see :mod:`dolphin.codec.exact`).

        Returns
        -------
        Tensor
            ``[B, T / hop_length, 3 * n_bins]`` float32.
        """
        frames = self._frames(audio.float(), cache) * self.window
        n_frames = frames.shape[1]
        if n_frames == 0:
            return frames.new_zeros(frames.shape[0], 0, self.n_features)
        # A fresh (aligned, contiguous) buffer per frame: the FFT sees identical inputs.
        spec = torch.stack([torch.fft.rfft(frames[:, i].clone()) for i in range(n_frames)], 1)
        return self._compress(spec)


class CausalISTFT(nn.Module):
    """Windowed overlap-add inverse STFT with carried state.

    Offline (``cache=None``) the output of ``G`` segments is the ``G * hop_length`` samples from
    time 0, the last ``n_fft - hop_length`` of which are still partial sums. Streaming, each call
    returns only the samples no later segment can change and keeps the partial ones in ``cache``;
    :meth:`flush` returns them at the end. Concatenating every streaming output with the flush
    equals the offline output.

    Parameters
    ----------
    n_fft : int
        Segment (window) length in samples; a multiple of ``hop_length``.
    hop_length : int
        Decoder hop in samples.
    """

    def __init__(self, *, n_fft: int, hop_length: int) -> None:
        super().__init__()
        if n_fft % hop_length:
            raise ValueError(f"n_fft ({n_fft}) must be a multiple of hop_length ({hop_length})")
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.overlap = n_fft // hop_length
        self.cache_key = "istft"
        window = torch.hann_window(n_fft, periodic=True, dtype=torch.float64)
        envelope = window.square().reshape(self.overlap, hop_length).sum(0)  # [hop], periodic
        self.register_buffer("window", window.float(), persistent=False)
        self.register_buffer("inv_envelope", (1.0 / envelope).float(), persistent=False)

    @property
    def latency_samples(self) -> int:
        """Samples held back until later segments are added: ``n_fft - hop_length``."""
        return self.n_fft - self.hop_length

    def analysis(self, audio: torch.Tensor) -> torch.Tensor:
        """The spectrum that :meth:`forward` turns back into ``audio`` exactly.

        Segment ``g`` is the Hann-windowed span ending at sample ``(g + 1) * hop_length``
        (zeros before time 0), transformed with ``norm="forward"``: a sinusoid of amplitude
        ``A`` peaks at about ``A / 4``. This is the target of a decoder's predicted spectrum.

        Parameters
        ----------
        audio : Tensor
            ``[B, 1, T]`` with ``T`` a multiple of ``hop_length``.

        Returns
        -------
        Tensor
            Complex ``[B, T / hop_length, n_fft // 2 + 1]``.
        """
        x = F.pad(audio[:, 0], (self.n_fft - self.hop_length, 0))
        frames = x.unfold(-1, self.n_fft, self.hop_length)
        return torch.fft.rfft(frames * self.window, dim=-1, norm="forward")

    def forward(self, spec: torch.Tensor, cache: dict[str, Any] | None = None) -> torch.Tensor:
        """Overlap-add the segments of ``spec``.

        Parameters
        ----------
        spec : Tensor
            Complex ``[B, G, n_fft // 2 + 1]``, one spectrum per decoder frame.
        cache : dict, optional
            Streaming state; ``None`` for a whole signal.

        Returns
        -------
        Tensor
            ``[B, 1, G * hop_length]`` offline; streaming, the newly final samples (the first
            call drops the ``n_fft - hop_length`` samples before time 0).
        """
        batch, n_seg = spec.shape[0], spec.shape[1]
        r, hop = self.overlap, self.hop_length
        segs = torch.fft.irfft(spec, n=self.n_fft, dim=-1, norm="forward") * self.window
        segs = segs.reshape(batch, n_seg, r, hop)
        # buf[:, j] holds hop j of the span [(g0 + 1 - r) * hop, (g0 + G) * hop).
        buf = segs[:, :, 0].new_zeros(batch, n_seg + r - 1, hop)
        for j in range(r):
            buf[:, j : j + n_seg] += segs[:, :, j]
        buf = (buf * self.inv_envelope).reshape(batch, -1)
        history = self.latency_samples
        prev = None if cache is None else cache.get(self.cache_key)
        if prev is not None:
            buf = torch.cat([buf[:, :history] + prev, buf[:, history:]], dim=-1)
        if cache is None:
            return buf[:, None, history:]
        out_len = n_seg * hop
        cache[self.cache_key] = buf[:, out_len:]
        out = buf[:, :out_len]
        to_drop = cache.get("istft_drop", history)
        dropped = min(to_drop, out.shape[-1])
        cache["istft_drop"] = to_drop - dropped
        return out[:, None, dropped:]

    def flush(self, cache: dict[str, Any]) -> torch.Tensor:
        """Return the held-back partial samples at the end of a stream.

        Parameters
        ----------
        cache : dict
            The streaming state used with :meth:`forward`.

        Returns
        -------
        Tensor
            ``[B, 1, <= n_fft - hop_length]`` (empty when no segment was ever added).
        """
        prev = cache.pop(self.cache_key, None)
        if prev is None:
            return torch.zeros(0, 1, 0)
        to_drop = cache.pop("istft_drop", self.latency_samples)
        return prev[:, None, to_drop:]
