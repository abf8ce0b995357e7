"""Background sounds: coloured ocean noise, snapping shrimp, vessel noise, and echoes.

Ocean noise is Gaussian noise shaped by a zero-phase FIR: its power falls as
``f ** -spectral_slope`` above 500 Hz, as wind-driven noise does in the Wenz curves (1.7 is about
-5 dB/octave), with a thermal-noise rise of +6 dB/octave above 100 kHz. Snapping shrimp are
Poisson broadband impulses (fast rise, 20-60 us exponential decay, log-normal peak levels),
band-limited below Nyquist like clicks (:mod:`dolphin.synth.sounds`). Vessel noise is propeller
blade-rate harmonics and machinery tonals below 500 Hz plus cavitation noise modulated at the blade
rate, with a Gaussian pass-by level. :func:`add_echoes` adds surface (inverted) and bottom
reflections. All functions return float32 ``[T]`` arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import oaconvolve, resample_poly

from dolphin.synth.sounds import AA_PASS, AA_STOP, lowpass_gain, place_kernel


def _coloured_fir(sample_rate: int, power_fn, n_fft: int = 8192) -> np.ndarray:
    """Zero-phase FIR (Hann-windowed, unit power gain) with the given power spectrum shape."""
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    h = np.fft.fftshift(np.fft.irfft(np.sqrt(power_fn(f)), n_fft)) * np.hanning(n_fft)
    return h / np.sqrt(np.sum(h**2))


def ocean_noise(
    *,
    n_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    rms: float = 1.0,
    spectral_slope: float = 1.7,
    corner_hz: float = 500.0,
    thermal_hz: float = 100e3,
) -> np.ndarray:
    """Coloured Gaussian ocean noise.

    Parameters
    ----------
    n_samples : int
        Length in samples.
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    rms : float
        Expected broadband RMS (full scale units).
    spectral_slope : float
        Power spectral density falls as ``f ** -spectral_slope`` above ``corner_hz`` (1.7 is about
        -5 dB/octave, Wenz wind noise; 1 = pink, 2 = brown); flat below, cut below 10 Hz.
    corner_hz : float
        Knee of the spectrum, in Hz.
    thermal_hz : float
        Above this frequency thermal noise (+6 dB/octave) takes over, in Hz.

    Returns
    -------
    np.ndarray, shape [T], float32
    """

    def power(f: np.ndarray) -> np.ndarray:
        wind = (corner_hz / np.maximum(f, corner_hz)) ** spectral_slope
        thermal = (corner_hz / thermal_hz) ** spectral_slope * (f / thermal_hz) ** 2
        return (wind + thermal) * (f >= 10.0)

    white = rng.standard_normal(n_samples)
    return (rms * oaconvolve(white, _coloured_fir(sample_rate, power), mode="same")).astype(
        np.float32
    )


def snapping_shrimp(
    *,
    n_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    rate_hz: float = 10.0,
    amplitude: float = 1.0,
    sigma_db: float = 6.0,
) -> np.ndarray:
    """Snapping shrimp: Poisson broadband impulses (fast rise, ~20-60 us exponential decay).

    Parameters
    ----------
    n_samples : int
        Length in samples.
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    rate_hz : float
        Mean snaps per second.
    amplitude : float
        Median peak amplitude of a snap.
    sigma_db : float
        Spread of snap peak levels (log-normal), in dB.

    Returns
    -------
    np.ndarray, shape [T], float32
    """
    n_snaps = int(rng.poisson(rate_hz * n_samples / sample_rate))
    if n_snaps == 0:
        return np.zeros(n_samples, np.float32)
    tau = rng.uniform(20e-6, 60e-6)
    n_fft = 512
    f = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    spec = (1.0 / (1.0 + 2j * np.pi * f * tau)) * (1.0 - np.exp(-0.5 * (f / 500.0) ** 2))
    spec *= lowpass_gain(f, pass_hz=AA_PASS * sample_rate, stop_hz=AA_STOP * sample_rate)
    kernel = np.roll(np.fft.irfft(spec, n_fft), n_fft // 8)
    kernel /= np.max(np.abs(kernel))
    times = rng.uniform(0, n_samples / sample_rate, n_snaps)
    amps = amplitude * 10 ** (rng.normal(0, sigma_db, n_snaps) / 20) * rng.choice([-1, 1], n_snaps)
    out, _ = place_kernel(kernel, times_s=times, amplitudes=amps, sample_rate=sample_rate)
    return out[:n_samples] if out.size >= n_samples else np.pad(out, (0, n_samples - out.size))


def vessel_noise(
    *,
    n_samples: int,
    sample_rate: int,
    rng: np.random.Generator,
    rms: float = 1.0,
    passby: bool = True,
) -> np.ndarray:
    """Vessel noise: propeller blade-rate harmonics, machinery tonals and modulated cavitation.

    Parameters
    ----------
    n_samples : int
        Length in samples.
    sample_rate : int
        Hz.
    rng : np.random.Generator
        Source of randomness.
    rms : float
        RMS at the closest point of approach (half tonal, half broadband power).
    passby : bool
        Apply a Gaussian pass-by level envelope (closest approach at a random time).

    Returns
    -------
    np.ndarray, shape [T], float32
    """
    t = np.arange(n_samples) / sample_rate
    blade_hz = rng.uniform(5.0, 15.0)
    # Tonals lie below 500 Hz: synthesise them at a low rate (>= 2 kHz) and upsample.
    q = max(int(sample_rate // 2000), 1)
    n_low = -(-n_samples // q) + 1
    wobble = 1 + 0.005 * np.sin(
        2 * np.pi * rng.uniform(0.02, 0.2) * np.arange(n_low) * q / sample_rate
    )
    phase = 2 * np.pi * np.cumsum(wobble) * q / sample_rate
    freqs = [k * blade_hz for k in range(1, 21) if k * blade_hz < 500.0]
    freqs += list(rng.uniform(50.0, 400.0, 2))
    low = sum(np.sin(f * phase + rng.uniform(0, 6)) / (1 + k) for k, f in enumerate(freqs))
    tonal = resample_poly(low, q, 1)[:n_samples] if q > 1 else low[:n_samples]
    tonal /= np.sqrt(np.mean(tonal**2)) + 1e-12
    cav = ocean_noise(
        n_samples=n_samples, sample_rate=sample_rate, rng=rng, spectral_slope=2.0, corner_hz=300.0
    ).astype(np.float64)
    cav *= 1 + rng.uniform(0.3, 0.7) * np.sin(2 * np.pi * blade_hz * t)
    cav /= np.sqrt(np.mean(cav**2)) + 1e-12
    out = rms * np.sqrt(0.5) * (tonal + cav)
    if passby:
        dur = n_samples / sample_rate
        width = rng.uniform(0.5, 2.0) * dur
        out *= np.exp(-0.5 * ((t - rng.uniform(0, dur)) / width) ** 2)
    return out.astype(np.float32)


def add_echoes(
    samples: np.ndarray, *, sample_rate: int, delays_s: list[float], gains: list[float]
) -> np.ndarray:
    """Add delayed, scaled copies of a sound (surface echo: negative gain; bottom: positive).

    Parameters
    ----------
    samples : np.ndarray, shape [T]
        The direct-path sound.
    sample_rate : int
        Hz.
    delays_s : list of float
        Echo delays after the direct path, in seconds.
    gains : list of float
        Linear gain of each echo.

    Returns
    -------
    np.ndarray, shape [T + max delay in samples], float32
    """
    shifts = [int(round(d * sample_rate)) for d in delays_s]
    out = np.zeros(samples.size + max(shifts, default=0), dtype=np.float64)
    out[: samples.size] += samples
    for shift, gain in zip(shifts, gains, strict=True):
        out[shift : shift + samples.size] += gain * samples
    return out.astype(np.float32)
