"""Sound renderers: whistles, echolocation clicks, click trains, burst pulses, buzzes and pulsed
calls.

Everything is pure numpy/scipy and returns float32 ``[T]`` arrays at the requested sample rate.

Whistles are synthesised phase-continuously: the phase is the running integral of the contour's
instantaneous frequency, and harmonic ``k`` uses ``k`` times that phase. A harmonic fades out
where its instantaneous frequency passes 0.40-0.45 x the sample rate, so nothing folds.

Clicks are Gabor pulses (a cosine at ``centre_hz`` under a Gaussian envelope whose +-2 sigma span
is ``duration_s``, 8-72 us for bottlenose dolphins) without their DC part. Band-limiting is
analytic: the click is built in the frequency domain from its continuous Fourier transform,
multiplied by an anti-aliasing low-pass (flat to 0.42 x, zero from 0.49 x the sample rate) and a
2 kHz DC block (a propagating pulse carries no DC), then inverse-transformed. The samples are
thus exactly those of the continuous click low-passed below Nyquist and then sampled; a click
whose band lies above Nyquist keeps only its low-frequency tail and never aliases. Amplitudes are in the continuous click's units (a unit
peak Gabor), so renderings at different sample rates agree in their common band.

Background sounds (ocean noise, snapping shrimp, vessels, echoes) are in
:mod:`dolphin.synth.background`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import oaconvolve

from dolphin.annotations import Contour
from dolphin.synth.contours import split_loops

#: Anti-aliasing low-pass of pulse renderings: flat below, zero above, as fractions of the rate.
AA_PASS, AA_STOP = 0.42, 0.49
#: Harmonics of whistles fade out between these fractions of the sample rate.
HARMONIC_PASS, HARMONIC_STOP = 0.40, 0.45
#: Pulsed calls update their harmonic gains every this many samples.
GAIN_STEP = 32
#: Corner of the DC block applied to clicks, in Hz.
DC_BLOCK_HZ = 2000.0


@dataclass
class Click:
    """One rendered click.

    Attributes
    ----------
    samples : np.ndarray, shape [N]
        float32 samples, the click centred at index ``N // 2``.
    sample_rate : int
        Hz.
    centre_hz, duration_s : float
        Gabor centre frequency (Hz) and +-2 sigma envelope length (s).
    low_hz, high_hz : float
        -10 dB band of the rendered (band-limited) power spectrum, in Hz.
    peak_hz : float
        Frequency of the rendered spectrum's maximum, in Hz.
    in_band_db : float
        Rendered energy relative to the continuous click's energy, in dB (0 when all of the
        click fits below Nyquist; very negative when the sample rate misses the click).
    """

    samples: np.ndarray
    sample_rate: int
    centre_hz: float
    duration_s: float
    low_hz: float
    high_hz: float
    peak_hz: float
    in_band_db: float


@dataclass
class PulseTrain:
    """A rendered click train, burst pulse or buzz.

    Attributes
    ----------
    samples : np.ndarray, shape [T]
        float32 samples; sample 0 is time 0.
    sample_rate : int
        Hz.
    pulse_times_s : np.ndarray, shape [K]
        Centre time of each pulse, in seconds from sample 0.
    click : Click
        The pulse shape (its band gives the train's band).
    """

    samples: np.ndarray
    sample_rate: int
    pulse_times_s: np.ndarray
    click: Click

    @property
    def intervals_s(self) -> np.ndarray:
        """Inter-pulse intervals in seconds, shape [K - 1]."""
        return np.diff(self.pulse_times_s)


def lowpass_gain(freqs_hz: np.ndarray, *, pass_hz: float, stop_hz: float) -> np.ndarray:
    """Raised-cosine low-pass gain.

    Parameters
    ----------
    freqs_hz : np.ndarray, shape [F]
        Frequencies in Hz.
    pass_hz, stop_hz : float
        The gain is 1 below ``pass_hz`` and 0 above ``stop_hz``, in Hz.

    Returns
    -------
    np.ndarray, shape [F]
    """
    x = np.clip((freqs_hz - pass_hz) / (stop_hz - pass_hz), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * x))


def click_spectrum(
    freqs_hz: np.ndarray, *, centre_hz: float, duration_s: float, sample_rate: int | None = None
) -> np.ndarray:
    """Continuous Fourier transform of a click, optionally with the anti-aliasing low-pass.

    Parameters
    ----------
    freqs_hz : np.ndarray, shape [F]
        Non-negative frequencies, in Hz.
    centre_hz, duration_s : float
        Gabor centre frequency in Hz and +-2 sigma envelope length in seconds.
    sample_rate : int, optional
        When given, the low-pass of a rendering at this rate (Hz) is applied.

    Returns
    -------
    np.ndarray, shape [F]
        Real, zero-phase amplitude spectrum in units of (unit peak) x seconds.
    """
    sigma = duration_s / 4.0
    f = np.asarray(freqs_hz, dtype=np.float64)
    gauss = np.exp(-2 * (np.pi * sigma * (f - centre_hz)) ** 2)
    gauss += np.exp(-2 * (np.pi * sigma * (f + centre_hz)) ** 2)
    spec = 0.5 * sigma * np.sqrt(2 * np.pi) * gauss * (1.0 - np.exp(-0.5 * (f / DC_BLOCK_HZ) ** 2))
    if sample_rate is not None:
        spec = spec * lowpass_gain(f, pass_hz=AA_PASS * sample_rate, stop_hz=AA_STOP * sample_rate)
    return spec


def render_click(*, sample_rate: int, centre_hz: float = 60e3, duration_s: float = 30e-6) -> Click:
    """Render one band-limited echolocation click.

    Parameters
    ----------
    sample_rate : int
        Hz.
    centre_hz : float
        Gabor centre frequency in Hz (bottlenose clicks: centroid 30-110 kHz).
    duration_s : float
        +-2 sigma envelope length in seconds (8-72 us).

    Returns
    -------
    Click
        Samples of the continuous click low-passed below Nyquist (see the module docstring).
    """
    n = int(2 ** np.ceil(np.log2(max(256.0, 8 * duration_s * sample_rate + 128))))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    spec = click_spectrum(
        freqs, centre_hz=centre_hz, duration_s=duration_s, sample_rate=sample_rate
    )
    # DFT of samples = sample_rate x continuous transform; the phase ramp centres the click.
    samples = np.fft.irfft(sample_rate * spec * np.exp(-1j * np.pi * np.arange(freqs.size)), n)
    fine = np.linspace(0.0, sample_rate / 2, 8193)
    power = click_spectrum(
        fine, centre_hz=centre_hz, duration_s=duration_s, sample_rate=sample_rate
    )
    power = power**2
    peak = int(np.argmax(power))
    above = power >= power[peak] / 10.0
    lo, hi = peak, peak
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < fine.size - 1 and above[hi + 1]:
        hi += 1
    wide = np.linspace(0.0, max(4 * centre_hz, 8 / duration_s, sample_rate), 65537)
    total = np.sum(click_spectrum(wide, centre_hz=centre_hz, duration_s=duration_s) ** 2)
    total *= wide[1] - wide[0]
    kept = np.sum(power) * (fine[1] - fine[0])
    return Click(
        samples=samples.astype(np.float32),
        sample_rate=sample_rate,
        centre_hz=centre_hz,
        duration_s=duration_s,
        low_hz=float(fine[lo]),
        high_hz=float(fine[hi]),
        peak_hz=float(fine[peak]),
        in_band_db=float(10 * np.log10(max(kept, 1e-300) / total)),
    )


def place_kernel(
    kernel: np.ndarray, *, times_s: np.ndarray, amplitudes: np.ndarray, sample_rate: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sum scaled copies of a pulse kernel centred at given times (rounded to samples).

    Parameters
    ----------
    kernel : np.ndarray, shape [N]
        Pulse shape, centred at index ``N // 2``.
    times_s : np.ndarray, shape [K]
        Centre times in seconds; sample 0 is time 0.
    amplitudes : np.ndarray, shape [K]
        Linear gain of each copy.
    sample_rate : int
        Hz.

    Returns
    -------
    samples : np.ndarray, shape [T], float32
        ``T = round(max(times_s) * sample_rate) + N``.
    times_s : np.ndarray, shape [K]
        The centre times actually used (rounded to samples).
    """
    half = kernel.size // 2
    idx = np.round(np.asarray(times_s) * sample_rate).astype(np.int64)
    impulses = np.zeros(int(idx.max(initial=0)) + kernel.size, dtype=np.float64)
    np.add.at(impulses, idx, amplitudes)
    out = oaconvolve(impulses, kernel.astype(np.float64))[half : half + impulses.size]
    return out.astype(np.float32), idx / sample_rate


def _smooth_db(n: int, rng: np.random.Generator, depth_db: float) -> np.ndarray:
    """Slowly varying linear gains over ``n`` pulses, within about +-``depth_db``."""
    u = np.linspace(0.0, 1.0, max(n, 1))
    db = depth_db * np.sin(2 * np.pi * rng.uniform(0.3, 1.5) * u + rng.uniform(0, 2 * np.pi))
    return 10 ** ((db + rng.normal(0.0, depth_db / 4, u.size)) / 20)


def _train(
    times: list[float],
    *,
    sample_rate: int,
    rng: np.random.Generator,
    centre_hz: float,
    click_duration_s: float,
    depth_db: float,
) -> PulseTrain:
    """Place identical clicks at ``times`` (shifted so the first kernel starts at sample 0)."""
    click = render_click(sample_rate=sample_rate, centre_hz=centre_hz, duration_s=click_duration_s)
    t = np.asarray(times) + click.samples.size / 2 / sample_rate
    samples, t = place_kernel(
        click.samples,
        times_s=t,
        amplitudes=_smooth_db(t.size, rng, depth_db),
        sample_rate=sample_rate,
    )
    return PulseTrain(samples, sample_rate, t, click)


def render_click_train(
    *,
    sample_rate: int,
    rng: np.random.Generator,
    duration_s: float = 1.0,
    ici_range_s: tuple[float, float] = (0.02, 0.2),
    centre_hz: float = 60e3,
    click_duration_s: float = 30e-6,
) -> PulseTrain:
    """Render an echolocation click train whose inter-click interval drifts.

    Parameters
    ----------
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    duration_s : float
        Approximate length from first to last click, in seconds (at least 3 clicks).
    ici_range_s : tuple of float
        Inter-click interval limits in seconds; the first ICI is drawn inside, drifts by up to
        +-30 % linearly and jitters by 2 %, always staying inside.
    centre_hz, click_duration_s : float
        Click shape (see :func:`render_click`).

    Returns
    -------
    PulseTrain
    """
    lo, hi = ici_range_s
    ici0, drift = rng.uniform(lo, hi), rng.uniform(-0.3, 0.3)
    times = [0.0]
    while times[-1] < duration_s or len(times) < 3:
        ici = ici0 * (1 + drift * times[-1] / duration_s) * (1 + rng.normal(0, 0.02))
        times.append(times[-1] + float(np.clip(ici, lo, hi)))
    return _train(
        times,
        sample_rate=sample_rate,
        rng=rng,
        centre_hz=centre_hz,
        click_duration_s=click_duration_s,
        depth_db=3.0,
    )


def render_burst_pulse(
    *,
    sample_rate: int,
    rng: np.random.Generator,
    duration_s: float = 0.3,
    ipi_range_s: tuple[float, float] = (0.5e-3, 10e-3),
    centre_hz: float = 50e3,
    click_duration_s: float = 30e-6,
) -> PulseTrain:
    """Render a burst-pulse sound: a dense pulse train with a nearly steady repetition rate.

    Parameters
    ----------
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    duration_s : float
        Approximate length in seconds (at least 5 pulses).
    ipi_range_s : tuple of float
        Inter-pulse interval limits in seconds; the mean IPI is log-uniform inside, drifts by up
        to +-20 % and jitters by 3 %, always staying inside.
    centre_hz, click_duration_s : float
        Pulse shape (see :func:`render_click`).

    Returns
    -------
    PulseTrain
    """
    lo, hi = ipi_range_s
    ipi0, drift = np.exp(rng.uniform(np.log(lo), np.log(hi))), rng.uniform(-0.2, 0.2)
    times = [0.0]
    while times[-1] < duration_s or len(times) < 5:
        ipi = ipi0 * (1 + drift * times[-1] / duration_s) * (1 + rng.normal(0, 0.03))
        times.append(times[-1] + float(np.clip(ipi, lo, hi)))
    return _train(
        times,
        sample_rate=sample_rate,
        rng=rng,
        centre_hz=centre_hz,
        click_duration_s=click_duration_s,
        depth_db=2.0,
    )


def render_buzz(
    *,
    sample_rate: int,
    rng: np.random.Generator,
    duration_s: float = 0.4,
    ici_start_s: float = 8e-3,
    ici_end_s: float = 2.5e-3,
    centre_hz: float = 60e3,
    click_duration_s: float = 20e-6,
) -> PulseTrain:
    """Render a terminal buzz: a fast click train whose interval shrinks linearly in time.

    Parameters
    ----------
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    duration_s : float
        Approximate length in seconds.
    ici_start_s, ici_end_s : float
        Inter-click interval at the start and the end, in seconds (about 10 to 2 ms).
    centre_hz, click_duration_s : float
        Click shape (see :func:`render_click`).

    Returns
    -------
    PulseTrain
    """
    times = [0.0]
    while times[-1] < duration_s:
        frac = min(times[-1] / duration_s, 1.0)
        times.append(times[-1] + ici_start_s + (ici_end_s - ici_start_s) * frac)
    return _train(
        times,
        sample_rate=sample_rate,
        rng=rng,
        centre_hz=centre_hz,
        click_duration_s=click_duration_s,
        depth_db=1.5,
    )


def _ramps(t: np.ndarray, ramp_s: float, sample_rate: int) -> np.ndarray:
    """Raised-cosine onset and offset envelope ``[N]`` over the times ``t`` ``[N]`` (s): ramps of
    ``ramp_s`` seconds, at most a quarter of the span, at least one sample."""
    ramp = max(min(ramp_s, 0.25 * (t[-1] - t[0])), 1.0 / sample_rate)
    env = np.minimum(np.minimum(t - t[0], t[-1] - t) / ramp, 1.0)
    return 0.5 * (1 - np.cos(np.pi * env))


def render_whistle(
    contour: Contour,
    *,
    sample_rate: int,
    harmonics: tuple[float, ...] = (1.0, 0.3, 0.1),
    ramp_s: float = 0.01,
    am_depth: float = 0.0,
    rng: np.random.Generator | None = None,
    min_gap_s: float = 0.02,
) -> np.ndarray:
    """Render a whistle from its fundamental contour, phase-continuously.

    Parameters
    ----------
    contour : Contour
        Fundamental frequency over time (Hz, s); jumps longer than ``min_gap_s`` separate loops,
        which are rendered as separate tones with silent gaps.
    sample_rate : int
        Hz.
    harmonics : tuple of float
        Amplitude of the fundamental and of each harmonic; harmonic ``k`` fades out where
        ``k * f(t)`` passes 0.40-0.45 x ``sample_rate``.
    ramp_s : float
        Raised-cosine onset and offset of each loop, in seconds (at most a quarter of the loop).
    am_depth : float
        Depth of a smooth random amplitude modulation (0 = none; needs ``rng``).
    rng : np.random.Generator, optional
        Draws the AM and the start phases; without it the phase starts at 0 and there is no AM.
    min_gap_s : float
        Loop separation threshold, in seconds (see :func:`dolphin.synth.contours.split_loops`).

    Returns
    -------
    np.ndarray, shape [T], float32
        Sample ``n`` is at time ``contour.times_s[0] + n / sample_rate``;
        ``T = floor(contour.duration_s * sample_rate) + 1``.
    """
    t_first = float(contour.times_s[0])
    out = np.zeros(int(np.floor(contour.duration_s * sample_rate)) + 1)
    for loop in split_loops(contour, min_gap_s=min_gap_s):
        i0 = int(np.ceil((loop.times_s[0] - t_first) * sample_rate - 1e-9))
        i1 = min(int(np.floor((loop.times_s[-1] - t_first) * sample_rate + 1e-9)), out.size - 1)
        if i1 <= i0:
            continue
        t = t_first + np.arange(i0, i1 + 1) / sample_rate
        f0 = np.interp(t, loop.times_s, loop.freqs_hz)
        phase = 2 * np.pi * np.cumsum(f0) / sample_rate
        if rng is not None:
            phase += rng.uniform(0, 2 * np.pi)
        tone = np.zeros(t.size)
        for k, amp in enumerate(harmonics, start=1):
            gain = lowpass_gain(
                k * f0, pass_hz=HARMONIC_PASS * sample_rate, stop_hz=HARMONIC_STOP * sample_rate
            )
            if amp and gain.any():
                tone += amp * gain * np.sin(k * phase)
        env = _ramps(t, ramp_s, sample_rate)
        if am_depth > 0 and rng is not None:
            rel = t - t[0]
            u = rel / max(rel[-1], 1e-9)
            am = np.sin(2 * np.pi * rng.uniform(1, 6) * u + rng.uniform(0, 2 * np.pi))
            env *= 1 + am_depth * am
        out[i0 : i1 + 1] += tone * env
    return out.astype(np.float32)


def render_pulsed_call(
    repetition: Contour,
    *,
    sample_rate: int,
    centre_hz: float = 4000.0,
    width_octaves: float = 1.5,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """Render a pulsed call (as orcas, pilot whales and dolphins make): a pulse train whose
    repetition rate follows a contour, heard as a stack of harmonics of that rate.

    The call is the harmonic sum ``sum_k G(k f0(t)) sin(k phi(t))`` with ``phi`` the running
    integral of the repetition rate ``f0`` and ``G`` a log-Gaussian spectral envelope, so each
    harmonic glides with the rate like a whistle's, and nothing folds (harmonics fade out as in
    :func:`render_whistle`).

    Parameters
    ----------
    repetition : Contour
        Pulse repetition rate over time (Hz, s); one loop (gaps are ignored).
    sample_rate : int
        Hz.
    centre_hz : float
        Centre of the spectral envelope, in Hz.
    width_octaves : float
        Envelope width, in octaves between its -8.7 dB (one sigma) points.
    rng : np.random.Generator, optional
        Draws the start phases of the harmonics (all 0 without it).

    Returns
    -------
    np.ndarray, shape [T], float32
        Sample ``n`` is at time ``repetition.times_s[0] + n / sample_rate``, peak 1,
        ``T = floor(repetition.duration_s * sample_rate) + 1``; raised-cosine ramps of 10 ms
        (at most a quarter of the call).
    """
    if not centre_hz > 0 or not width_octaves > 0:
        raise ValueError(
            f"need centre_hz > 0 and width_octaves > 0, got {centre_hz}, {width_octaves}"
        )
    t = (
        repetition.times_s[0]
        + np.arange(int(np.floor(repetition.duration_s * sample_rate)) + 1) / sample_rate
    )
    f0 = np.interp(t, repetition.times_s, repetition.freqs_hz)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    sigma = width_octaves * np.log(2) / 2
    out = np.zeros(t.size)
    top = HARMONIC_STOP * sample_rate
    # Harmonics whose envelope gain stays under 1e-3 (-60 dB) are left out; the others come
    # from powers of exp(i phase), one complex product per harmonic instead of a sine.
    reach = np.exp(sigma * np.sqrt(2 * np.log(1e3)))
    k_first = max(int(np.ceil(centre_hz / reach / float(f0.max()))), 1)
    k_last = int(min(centre_hz * reach, top) / max(float(f0.min()), 1.0))
    # Gains change with the slowly gliding rate: computed every GAIN_STEP samples (and at the
    # last one), linearly interpolated between.
    coarse = np.unique(np.append(np.arange(0, t.size, GAIN_STEP), t.size - 1))
    f0_coarse, fine = f0[coarse], np.arange(t.size)
    step = np.exp(1j * phase)
    z = np.exp(1j * k_first * phase)
    for k in range(k_first, k_last + 1):
        fk = k * f0_coarse
        gain = np.exp(-0.5 * (np.log(fk / centre_hz) / sigma) ** 2)
        gain *= lowpass_gain(fk, pass_hz=HARMONIC_PASS * sample_rate, stop_hz=top)
        gain = np.interp(fine, coarse, gain)
        start = rng.uniform(0, 2 * np.pi) if rng is not None else 0.0
        out += gain * (z.imag * np.cos(start) + z.real * np.sin(start))  # sin(k phase + start)
        z *= step
    out *= _ramps(t, 0.01, sample_rate)
    peak = float(np.max(np.abs(out)))
    return (out / peak if peak > 0 else out).astype(np.float32)
