"""Reconstruction losses and the loss balancer for codec training.

Every resolution is set in milliseconds and turned into samples at the codec's sample rate, so a
96 kHz codec is judged on the same time scales as a 48 kHz one. The "mel-type" loss uses
log-spaced triangular filters from ``fmin_hz`` (500 Hz) up to Nyquist: a speech mel scale
would spend its filters below 8 kHz and hardly look at 20-48 kHz, where whistle harmonics and
clicks live.

* :class:`MultiResolutionSTFTLoss` - spectral convergence + log-magnitude L1;
* :class:`FullBandMelLoss` - L1 between log filterbank energies, several window sizes;
* :func:`spectrum_losses` - compressed magnitude and phase-difference losses on the decoder's
  own spectrum (they see sparse tonal peaks that log-magnitude losses average away);
* :func:`tonal_log_loss` - log-magnitude error weighted by the target's magnitude, whose
  gradient does not vanish for a whistle predicted far too quietly;
* :func:`waveform_l1`, :func:`feature_matching_loss`;
* :class:`ReconstructionLoss` - the three reconstruction terms with weights;
* :class:`LossBalancer` - EnCodec's balancer: each loss's gradient w.r.t. the decoded audio is
  normalised by an EMA of its norm, so the weights say what share of the gradient each loss gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn


def window_samples(sample_rate: int, window_ms: float) -> int:
    """The power of two nearest to ``window_ms`` milliseconds at ``sample_rate`` Hz."""
    return 2 ** max(int(round(math.log2(sample_rate * window_ms / 1000.0))), 3)


def stft_magnitude(audio: torch.Tensor, n_fft: int, window: torch.Tensor) -> torch.Tensor:
    """Magnitude STFT with hop ``n_fft / 4``, scaled so a full-scale sinusoid peaks at ~1.

    Parameters
    ----------
    audio : Tensor
        ``[B, 1, T]`` (or ``[B, T]``).
    n_fft : int
        Window and FFT size in samples.
    window : Tensor
        ``[n_fft]`` analysis window.

    Returns
    -------
    Tensor
        ``[B, n_fft // 2 + 1, frames]``.
    """
    x = audio.reshape(-1, audio.shape[-1])
    if x.shape[-1] < n_fft:  # shorter than one window: pad so that one frame exists
        x = F.pad(x, (0, n_fft - x.shape[-1]))
    spec = torch.stft(x, n_fft, n_fft // 4, window=window, center=False, return_complex=True)
    return spec.abs() * (2.0 / window.sum())


def log_filterbank(
    *, n_fft: int, sample_rate: int, n_filters: int, fmin_hz: float = 500.0, fmax_hz: float = 0.0
) -> torch.Tensor:
    """Triangular filters with log-spaced centres from ``fmin_hz`` to ``fmax_hz``.

    Parameters
    ----------
    n_fft : int
        FFT size the filters apply to.
    sample_rate : int
        Hz.
    n_filters : int
        Number of filters.
    fmin_hz : float
        Lowest filter edge in Hz.
    fmax_hz : float
        Highest filter edge in Hz; 0 means Nyquist (``sample_rate / 2``).

    Returns
    -------
    Tensor
        ``[n_filters, n_fft // 2 + 1]``; each row sums to 1 (a filter output is the mean
        magnitude in its band) and has non-zero weight on at least one bin.
    """
    fmax_hz = fmax_hz or sample_rate / 2
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.logspace(math.log10(fmin_hz), math.log10(fmax_hz), n_filters + 2)
    edges = edges.to(torch.float64)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs - lo) / (mid - lo)
    down = (hi - freqs) / (hi - mid)
    fb = torch.clamp(torch.minimum(up, down), min=0.0)
    # Filters narrower than a bin (low frequencies, small FFTs) take their nearest bin.
    nearest = torch.argmin((freqs[None, :] - mid).abs(), dim=1)
    empty = fb.sum(1) == 0
    fb[empty, nearest[empty]] = 1.0
    return (fb / fb.sum(1, keepdim=True)).float()


class MultiResolutionSTFTLoss(nn.Module):
    """Spectral convergence + log-magnitude L1, averaged over several window sizes.

    Parameters
    ----------
    sample_rate : int
        Hz; windows are ``windows_ms`` rounded to powers of two at this rate.
    windows_ms : tuple of float
        Window durations (default ~5, 11, 21, 43 ms: 512 .. 4096 samples at 96 kHz).
    floor_db : float
        Magnitude floor in dB re a full-scale sinusoid, added inside the logarithm: error
        far below it (the -140 dB sidelobes of a pure synthetic tone) does not count.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        windows_ms: tuple[float, ...] = (5.3, 10.7, 21.3, 42.7),
        floor_db: float = -80.0,
    ) -> None:
        super().__init__()
        self.floor = 10.0 ** (floor_db / 20.0)
        self.n_ffts = [window_samples(sample_rate, ms) for ms in windows_ms]
        for n in self.n_ffts:
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss between ``pred`` and ``target``, both ``[B, 1, T]``; a scalar."""
        total = pred.new_zeros(())
        for n in self.n_ffts:
            window = getattr(self, f"window_{n}")
            p, t = stft_magnitude(pred, n, window), stft_magnitude(target, n, window)
            sc = torch.linalg.norm(t - p, dim=(-2, -1)) / (
                torch.linalg.norm(t, dim=(-2, -1)) + 1e-7
            )
            log_mag = (torch.log(t + self.floor) - torch.log(p + self.floor)).abs().mean()
            total = total + sc.mean() + log_mag
        return total / len(self.n_ffts)


class FullBandMelLoss(nn.Module):
    """L1 between log10 energies of log-spaced filterbanks that reach Nyquist ("mel-type").

    Parameters
    ----------
    sample_rate : int
        Hz.
    windows_ms : tuple of float
        Window durations, one filterbank each.
    n_filters : tuple of int
        Filters per window (more for longer windows, as in DAC's multi-scale mel loss).
    fmin_hz : float
        Lowest filter edge in Hz.
    floor_db : float
        Floor of the band magnitudes in dB re full scale, added inside the logarithm.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        windows_ms: tuple[float, ...] = (2.7, 10.7, 42.7),
        n_filters: tuple[int, ...] = (32, 64, 128),
        fmin_hz: float = 500.0,
        floor_db: float = -80.0,
    ) -> None:
        super().__init__()
        self.floor = 10.0 ** (floor_db / 20.0)
        if len(windows_ms) != len(n_filters):
            raise ValueError("windows_ms and n_filters must have the same length")
        self.n_ffts = [window_samples(sample_rate, ms) for ms in windows_ms]
        for n, n_filt in zip(self.n_ffts, n_filters, strict=True):
            self.register_buffer(f"window_{n}", torch.hann_window(n), persistent=False)
            fb = log_filterbank(n_fft=n, sample_rate=sample_rate, n_filters=n_filt, fmin_hz=fmin_hz)
            self.register_buffer(f"fb_{n}", fb, persistent=False)

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss between ``pred`` and ``target``, both ``[B, 1, T]``; a scalar."""
        total = pred.new_zeros(())
        for n in self.n_ffts:
            window, fb = getattr(self, f"window_{n}"), getattr(self, f"fb_{n}")
            p = fb @ stft_magnitude(pred, n, window)
            t = fb @ stft_magnitude(target, n, window)
            total = total + (torch.log10(p + self.floor) - torch.log10(t + self.floor)).abs().mean()
        return total / len(self.n_ffts)


def _unit(z: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``z / |z|`` with a gradient that stays finite for tiny ``z``: that of ``|z|`` is NaN when
    ``z`` is subnormal (a product of two ~1e-20 bins, as the empty band of band-limited audio
    gives), which made codec training diverge."""
    return z * torch.rsqrt(z.real.square() + z.imag.square() + eps * eps)


def _phase_difference_loss(pred: torch.Tensor, target: torch.Tensor, dim: int) -> torch.Tensor:
    """Magnitude-weighted ``1 - cos`` of the error in phase differences along ``dim``."""
    n = pred.shape[dim]
    a, b = pred.narrow(dim, 1, n - 1), pred.narrow(dim, 0, n - 1)
    ta, tb = target.narrow(dim, 1, n - 1), target.narrow(dim, 0, n - 1)
    weight = (ta.abs() * tb.abs()).sqrt()
    cos = (_unit(a * b.conj()) * _unit(ta * tb.conj()).conj()).real
    return ((1.0 - cos) * weight).sum() / (weight.sum() + 1e-12)


def spectrum_losses(
    pred: torch.Tensor, target: torch.Tensor, *, power: float = 0.3
) -> tuple[torch.Tensor, torch.Tensor]:
    """Losses on the decoder's own spectrum against the target's (same framing).

    Log-magnitude losses average over all bins, and in hydrophone audio nearly all bins are
    noise: a whistle is one bin in hundreds, so such losses barely see it (measured: a codec
    trained on them alone learned the noise floor and no whistle). Here magnitudes are
    compressed with ``|X| ** power`` and compared by squared error relative to the target's
    energy, which loud tonal bins dominate; phase is judged by its differences along time
    (instantaneous frequency) and along frequency (group delay), weighted by magnitude, which
    are predictable where the absolute phase is not.

    Parameters
    ----------
    pred, target : Tensor
        Complex ``[B, G, K]`` spectra (decoder frames x bins), ``target`` from
        :meth:`~dolphin.codec.spectral.CausalISTFT.analysis`.
    power : float
        Magnitude compression exponent.

    Returns
    -------
    magnitude, phase : Tensor
        Scalars; ``phase`` is in ``[0, 2]`` (0 when phase differences match).
    """
    target = target.detach()
    half = power / 2.0
    p_mag = (pred.real.square() + pred.imag.square() + 1e-12) ** half
    t_mag = target.abs() ** power
    magnitude = (p_mag - t_mag).square().mean() / (t_mag.square().mean() + 1e-12)
    phase = 0.5 * (
        _phase_difference_loss(pred, target, 1) + _phase_difference_loss(pred, target, 2)
    )
    return magnitude, phase


def tonal_log_loss(
    pred: torch.Tensor, target: torch.Tensor, *, floor_weight: float = 0.1
) -> torch.Tensor:
    """Log-magnitude error weighted by the target magnitude, plus a small unweighted share.

    In the compressed-magnitude term of :func:`spectrum_losses` the many noise bins, whose
    exact values no codec can predict, still hold most of the gradient: with a right noise
    floor and a missing whistle, the whistle's bin gets 8 % of it (measured, 0.1 amplitude
    tone over white noise). Weighting each bin's log error by its share of the frame's target
    magnitude gives that bin 33 %, and in the log domain a bin's gradient does not shrink with
    its level. ``floor_weight`` times the plain mean log error keeps the noise floor's shape.
    Measured with ``benchmarks/codec_learning.py``: without this term, chirps over red ocean
    noise came out 36 dB low at one input-independent frequency; with it the codec learns them.

    Parameters
    ----------
    pred, target : Tensor
        Complex ``[B, G, K]`` spectra (decoder frames x bins), same framing.
    floor_weight : float
        Weight of the unweighted mean log-magnitude error.

    Returns
    -------
    Tensor
        Scalar, in nats (natural-log magnitude error).
    """
    target = target.detach()
    log_pred = 0.5 * torch.log(pred.real.square() + pred.imag.square() + 1e-18)
    t_mag = target.abs()
    log_target = 0.5 * torch.log(target.real.square() + target.imag.square() + 1e-18)
    error = (log_pred - log_target).abs()
    weight = t_mag / (t_mag.sum(-1, keepdim=True) + 1e-12)
    return (error * weight).sum(-1).mean() + floor_weight * error.mean()


def waveform_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute sample difference of ``[B, 1, T]`` signals; a scalar."""
    return F.l1_loss(pred, target)


def feature_matching_loss(
    fake_features: list[list[torch.Tensor]], real_features: list[list[torch.Tensor]]
) -> torch.Tensor:
    """EnCodec's relative feature-matching loss.

    Parameters
    ----------
    fake_features, real_features : list of list of Tensor
        Per discriminator, the feature maps for decoded and real audio (same shapes).

    Returns
    -------
    Tensor
        Scalar: mean over maps of ``mean|fake - real| / mean|real|`` (real detached).
    """
    terms = []
    for fakes, reals in zip(fake_features, real_features, strict=True):
        for fake, real in zip(fakes, reals, strict=True):
            real = real.detach()
            terms.append((fake - real).abs().mean() / (real.abs().mean() + 1e-8))
    return torch.stack(terms).mean()


@dataclass
class ReconstructionLosses:
    """Reconstruction terms of one batch (scalars)."""

    stft: torch.Tensor  # multi-resolution STFT loss
    mel: torch.Tensor  # full-band log-filterbank loss
    waveform: torch.Tensor  # waveform L1

    def as_dict(self) -> dict[str, torch.Tensor]:
        """``{"stft": ..., "mel": ..., "waveform": ...}`` (the tensors themselves, not copies)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


class ReconstructionLoss(nn.Module):
    """All reconstruction terms, scaled to ``sample_rate``, and their weighted sum.

    Parameters
    ----------
    sample_rate : int
        Hz.
    stft_weight, mel_weight, waveform_weight : float
        Weights used by :meth:`total` (and as balancer weights).
    fmin_hz : float
        Lowest edge of the full-band filterbanks.
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        stft_weight: float = 1.0,
        mel_weight: float = 1.0,
        waveform_weight: float = 0.1,
        fmin_hz: float = 500.0,
    ) -> None:
        super().__init__()
        self.stft = MultiResolutionSTFTLoss(sample_rate)
        self.mel = FullBandMelLoss(sample_rate, fmin_hz=fmin_hz)
        self.weights = {"stft": stft_weight, "mel": mel_weight, "waveform": waveform_weight}

    def forward(self, pred: torch.Tensor, target: torch.Tensor) -> ReconstructionLosses:
        """Compute every term for ``[B, 1, T]`` signals."""
        return ReconstructionLosses(
            stft=self.stft(pred, target),
            mel=self.mel(pred, target),
            waveform=waveform_l1(pred, target),
        )

    def total(self, losses: ReconstructionLosses) -> torch.Tensor:
        """Weighted sum of the terms (the simple alternative to :class:`LossBalancer`)."""
        return sum(self.weights[k] * v for k, v in losses.as_dict().items())


class LossBalancer:
    """EnCodec-style gradient balancer for losses that depend on the decoded audio.

    For each loss ``l_i`` it takes ``g_i = d l_i / d audio``, divides it by an EMA of its norm
    and back-propagates ``sum_i w_i / sum(w) * total_norm * g_i / ema_i`` through ``audio``.
    Losses that do not depend on the audio (commitment) are back-propagated separately.

    Parameters
    ----------
    weights : dict of str to float
        Share of the gradient each named loss gets.
    total_norm : float
        Norm of the combined gradient.
    ema_decay : float
        Decay of the gradient-norm averages.
    """

    def __init__(
        self, weights: dict[str, float], *, total_norm: float = 1.0, ema_decay: float = 0.999
    ) -> None:
        self.weights = dict(weights)
        self.total_norm = total_norm
        self.ema_decay = ema_decay
        self._sum: dict[str, float] = {}
        self._count: dict[str, float] = {}

    def backward(self, losses: dict[str, torch.Tensor], audio: torch.Tensor) -> dict[str, float]:
        """Back-propagate the balanced gradient of ``losses`` through ``audio``.

        Parameters
        ----------
        losses : dict of str to Tensor
            Scalar losses computed from ``audio``; each name needs a weight.
        audio : Tensor
            The decoded audio ``[B, 1, T]`` (part of the autograd graph).

        Returns
        -------
        dict of str to float
            The raw gradient norm of each loss (for logging).
        """
        grads, norms = {}, {}
        for name, loss in losses.items():
            (grad,) = torch.autograd.grad(loss, [audio], retain_graph=True)
            norm = grad.flatten(1).norm(dim=1).mean()
            if torch.distributed.is_available() and torch.distributed.is_initialized():
                torch.distributed.all_reduce(norm)
                norm = norm / torch.distributed.get_world_size()
            grads[name], norms[name] = grad, float(norm)
        total_weight = sum(self.weights[name] for name in losses)
        combined = torch.zeros_like(audio)
        for name, grad in grads.items():
            self._sum[name] = self.ema_decay * self._sum.get(name, 0.0) + norms[name]
            self._count[name] = self.ema_decay * self._count.get(name, 0.0) + 1.0
            avg = self._sum[name] / self._count[name]
            scale = self.weights[name] / total_weight * self.total_norm / (avg + 1e-12)
            combined = combined + scale * grad
        audio.backward(combined)
        return norms
