"""Tests of dolphin.audio.dsp: resampling, filters, spectrograms, PCEN and SNR estimation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from dolphin.audio.dsp import (
    StreamingFilter,
    bandpass,
    design_filter,
    estimate_snr_db,
    highpass,
    lowpass,
    resample,
)
from dolphin.audio.spectral import Spectrogram, pcen, power_spectrogram, power_to_db

from .conftest import make_noise, make_tone


def _peak_hz(x: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(x.size)))
    return float(np.fft.rfftfreq(x.size, 1 / sample_rate)[np.argmax(spectrum)])


def _level_db(x: np.ndarray) -> float:
    return float(20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-30))


# --- resampling ---------------------------------------------------------------------------------

PAIRS = [
    (48000, 96000),
    (96000, 48000),
    (192000, 48000),
    (384000, 96000),
    (288000, 384000),
    (384000, 288000),
    (96000, 288000),
    (44100, 48000),
]


@pytest.mark.parametrize(("orig_sr", "target_sr"), PAIRS)
def test_resample_keeps_tone_frequency_and_level(orig_sr, target_sr):
    freq = 0.3 * min(orig_sr, target_sr)  # well inside both pass bands
    tone = make_tone(freq, sample_rate=orig_sr, duration_s=0.05, n_channels=2)
    out = resample(tone, orig_sr=orig_sr, target_sr=target_sr)
    assert out.dtype == np.float32 and out.shape[0] == 2
    assert abs(_peak_hz(out[0], target_sr) - freq) <= target_sr / out.shape[1]
    edge = out.shape[1] // 5  # skip filter start-up at both ends
    assert _level_db(out[:, edge:-edge]) == pytest.approx(_level_db(tone), abs=0.05)


@pytest.mark.parametrize(
    ("orig_sr", "target_sr", "freq"),
    [
        (96000, 48000, 25000),
        (192000, 48000, 60000),
        (384000, 96000, 52000),
        (384000, 288000, 150000),
    ],
)
def test_resample_removes_aliases(orig_sr, target_sr, freq):
    tone = make_tone(freq, sample_rate=orig_sr, duration_s=0.05, amplitude=1.0)[0]
    out = resample(tone, orig_sr=orig_sr, target_sr=target_sr)
    edge = out.size // 5
    assert _level_db(out[edge:-edge]) - _level_db(tone) <= -60.0


@pytest.mark.parametrize("n_frames", [1, 999, 1000, 1001, 4801])
@pytest.mark.parametrize(("orig_sr", "target_sr"), [(48000, 96000), (96000, 48000), (44100, 48000)])
def test_resample_length(n_frames, orig_sr, target_sr):
    out = resample(np.zeros((3, n_frames)), orig_sr=orig_sr, target_sr=target_sr)
    assert out.shape == (3, -(-n_frames * target_sr // orig_sr))
    assert out.dtype == np.float64


def test_resample_same_rate_and_bad_input():
    x = np.ones(10, np.float32)
    same = resample(x, orig_sr=48000, target_sr=48000)
    np.testing.assert_array_equal(same, x)
    assert same is not x
    with pytest.raises(ValueError, match="contains NaN"):
        resample(np.array([0.0, np.nan]), orig_sr=48000, target_sr=96000)
    for bad in (48000.0, 0, -1, True, None):
        with pytest.raises(ValueError, match="orig_sr must be a positive int"):
            resample(x, orig_sr=bad, target_sr=96000)


# --- filters ------------------------------------------------------------------------------------


def test_zero_phase_filters():
    sr = 48000
    low = make_tone(500, sample_rate=sr, duration_s=0.1)
    mid = make_tone(8000, sample_rate=sr, duration_s=0.1)
    high = make_tone(20000, sample_rate=sr, duration_s=0.1)
    middle = slice(1000, -1000)
    hp = highpass(low + mid, sample_rate=sr, cutoff_hz=3000)
    assert hp.dtype == np.float32
    np.testing.assert_allclose(hp[:, middle], mid[:, middle], atol=0.01)  # zero phase: no delay
    bp = bandpass(low + mid + high, sample_rate=sr, low_hz=4000, high_hz=12000, order=6)
    np.testing.assert_allclose(bp[:, middle], mid[:, middle], atol=0.01)
    lp = lowpass(mid + high, sample_rate=sr, cutoff_hz=12000)
    np.testing.assert_allclose(lp[:, middle], mid[:, middle], atol=0.01)


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"low_hz": 24000}, "Nyquist"),
        ({"high_hz": 30000}, "Nyquist"),
        ({"low_hz": 0}, "between 0 and the Nyquist"),
        ({"low_hz": 5000, "high_hz": 4000}, "must be below"),
        ({}, "give low_hz"),
        ({"low_hz": 100, "order": 0}, "order"),
    ],
)
def test_design_filter_validation(kwargs, problem):
    with pytest.raises(ValueError, match=problem):
        design_filter(sample_rate=48000, **kwargs)


def test_design_filter_kinds_and_rates():
    assert design_filter(sample_rate=96000, low_hz=1000, order=4).shape == (2, 6)
    assert design_filter(sample_rate=96000, low_hz=1000, high_hz=40000, order=4).shape == (4, 6)
    with pytest.raises(ValueError, match="sample_rate must be a positive int"):
        design_filter(sample_rate=96000.0, low_hz=1000)
    with pytest.raises(ValueError, match="Nyquist"):
        highpass(np.zeros(100), sample_rate=8000, cutoff_hz=5000)


def test_streaming_filter_equals_one_shot():
    sr = 96000
    x = make_noise(sample_rate=sr, duration_s=0.05, n_channels=3, seed=1)
    sos = design_filter(sample_rate=sr, low_hz=2000, high_hz=30000)
    expected = scipy.signal.sosfilt(sos, x.astype(np.float64), axis=-1)
    rng = np.random.default_rng(2)
    bounds = np.sort(rng.choice(np.arange(1, x.shape[1]), size=40, replace=False))
    chunks = np.split(x, bounds, axis=1) + [x[:, :0]]  # random sizes, and an empty block
    stream = StreamingFilter(sos, n_channels=3)
    out = np.concatenate([stream.process(chunk) for chunk in chunks], axis=1)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, atol=1e-6)
    stream.reset()
    np.testing.assert_allclose(stream.process(x[:, :500]), expected[:, :500], atol=1e-6)


def test_streaming_filter_design_and_validation():
    stream = StreamingFilter.design(sample_rate=48000, n_channels=2, low_hz=1000)
    with pytest.raises(ValueError, match=r"block must be \[2, N\]"):
        stream.process(np.zeros((3, 10)))
    with pytest.raises(ValueError, match="NaN"):
        stream.process(np.full((2, 10), np.nan))
    with pytest.raises(ValueError, match="sos must have shape"):
        StreamingFilter(np.zeros((2, 5)), n_channels=1)


# --- spectrograms -------------------------------------------------------------------------------


def test_spectrogram_peak_shapes_and_times():
    sr, n_fft, hop = 96000, 1024, 256
    tone = make_tone(12000, sample_rate=sr, duration_s=0.05, n_channels=2)
    spec = power_spectrogram(tone, sample_rate=sr, n_fft=n_fft, hop_length=hop)
    n_frames = 1 + tone.shape[1] // hop
    assert isinstance(spec, Spectrogram)
    assert spec.power.shape == (2, n_fft // 2 + 1, n_frames) and spec.power.dtype == np.float32
    assert spec.freqs_hz.shape == (n_fft // 2 + 1,) and spec.freqs_hz[-1] == sr / 2
    np.testing.assert_allclose(spec.times_s, np.arange(n_frames) * hop / sr)
    peak_bins = spec.power[:, :, 2:-2].argmax(axis=1)
    assert np.all(np.abs(spec.freqs_hz[peak_bins] - 12000) <= sr / n_fft / 2)
    # Parseval with a periodic Hann window: sum over bins ~ n_fft * 3/8 * A^2 / 2 * n_fft ...
    # simpler: the power of a frame scales with the square of the amplitude.
    louder = power_spectrogram(2 * tone[0], sample_rate=sr, n_fft=n_fft, hop_length=hop)
    np.testing.assert_allclose(louder.power, 4 * spec.power[0], rtol=1e-4, atol=1e-3)


def test_spectrogram_without_centering_and_defaults():
    x = make_noise(sample_rate=48000, duration_s=0.1)[0]
    spec = power_spectrogram(x, sample_rate=48000, n_fft=512, center=False)
    assert spec.hop_length == 128
    assert spec.power.shape == (257, 1 + (x.size - 512) // 128)
    assert spec.times_s[0] == pytest.approx(256 / 48000)
    with pytest.raises(ValueError, match="shorter than n_fft"):
        power_spectrogram(x[:100], sample_rate=48000, n_fft=512, center=False)
    with pytest.raises(ValueError, match="NaN"):
        power_spectrogram(np.array([np.inf] * 2048), sample_rate=48000)


def test_power_to_db():
    power = np.array([1.0, 10.0, 100.0, 0.0])
    np.testing.assert_allclose(power_to_db(power), [0, 10, 20, -100])
    np.testing.assert_allclose(power_to_db(power, ref=np.max, top_db=30), [-20, -10, 0, -30])


def test_pcen_finite_and_highlights_tone_burst():
    sr, hop = 96000, 256
    noise = make_noise(sample_rate=sr, duration_s=0.3, std=0.05, seed=3)[0]
    burst = make_tone(10000, sample_rate=sr, duration_s=0.3, amplitude=0.05)[0]
    burst[: int(0.15 * sr)] = 0  # tone only in the second half
    spec = power_spectrogram(noise + burst, sample_rate=sr, n_fft=1024, hop_length=hop)
    out = pcen(spec)
    assert out.shape == spec.power.shape and out.dtype == np.float32
    assert np.isfinite(out).all()
    tone_bin = int(np.argmin(np.abs(spec.freqs_hz - 10000)))
    onset = round(0.15 * sr / hop)
    before = out[tone_bin, 10:50].mean()
    assert out[tone_bin, onset + 1 : onset + 6].mean() > 2 * before  # the onset stands out
    # ...and the gain control then adapts to the steady tone, which fades towards the noise.
    assert out[tone_bin, onset + 1 : onset + 6].mean() > out[tone_bin, -20:].mean() > before
    silent = pcen(np.zeros((5, 20)), sample_rate=sr, hop_length=hop)
    assert np.isfinite(silent).all() and np.all(silent == 0)
    with pytest.raises(ValueError, match="sample_rate and hop_length"):
        pcen(spec.power)


def test_pcen_matches_reference_recursion():
    # Straight transcription of Wang et al. (2017) on the 2**31-scaled magnitude, smoother
    # started at the first frame; the librosa formulation in `pcen` must agree with it.
    power = np.random.default_rng(4).exponential(1e-4, (33, 60))
    ours = pcen(power, sample_rate=48000, hop_length=128)
    energy = np.sqrt(power) * 2.0**31
    t_frames = 0.06 * 48000 / 128
    s = (np.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)
    smooth = energy[:, 0].copy()
    expected = np.empty_like(energy)
    for n in range(energy.shape[1]):
        smooth = (1 - s) * smooth + s * energy[:, n]
        expected[:, n] = (energy[:, n] / (1e-6 + smooth) ** 0.8 + 10.0) ** 0.25 - 10.0**0.25
    np.testing.assert_allclose(ours, expected, rtol=1e-5)


# --- signal-to-noise ratio ----------------------------------------------------------------------


def _bursts_in_noise(snr_db: float, *, sample_rate: int, noise_std: float) -> np.ndarray:
    """Tone bursts of 20 ms every 80 ms at 10 kHz whose power is ``snr_db`` above the noise."""
    amplitude = np.sqrt(2 * noise_std**2 * 10 ** (snr_db / 10))
    tone = make_tone(10000, sample_rate=sample_rate, duration_s=1.0, amplitude=amplitude)[0]
    t = np.arange(tone.size) / sample_rate
    gate = (t % 0.08) < 0.02
    noise = make_noise(sample_rate=sample_rate, duration_s=1.0, std=noise_std, seed=5)[0]
    return tone * gate + noise


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 20.0, 30.0])
def test_snr_estimate_broadband(snr_db):
    x = _bursts_in_noise(snr_db, sample_rate=48000, noise_std=0.02)
    assert estimate_snr_db(x, sample_rate=48000) == pytest.approx(snr_db, abs=2.0)


@pytest.mark.parametrize("snr_db", [0.0, 15.0])
def test_snr_estimate_in_band(snr_db):
    # Within 8-12 kHz the bursts are snr_db above the noise; over 0-24 kHz ~7.8 dB less.
    sr, band = 48000, (8000.0, 12000.0)
    in_band_fraction = (band[1] - band[0]) / (sr / 2)
    x = _bursts_in_noise(snr_db + 10 * np.log10(in_band_fraction), sample_rate=sr, noise_std=0.02)
    broadband = estimate_snr_db(x, sample_rate=sr)
    assert estimate_snr_db(x, sample_rate=sr, band_hz=band) == pytest.approx(snr_db, abs=2.0)
    assert broadband < snr_db - 5
    assert np.isfinite(estimate_snr_db(x[None], sample_rate=sr, band_hz=(0, 24000)))


def test_snr_edge_cases():
    noise = make_noise(sample_rate=8000, duration_s=1.0)[0]
    assert estimate_snr_db(noise, sample_rate=8000) < 3.0
    assert estimate_snr_db(np.zeros(8000), sample_rate=8000) == float("-inf")
    with pytest.raises(ValueError, match="at least 10 frames"):
        estimate_snr_db(noise[:500], sample_rate=8000)
    with pytest.raises(ValueError, match="NaN"):
        estimate_snr_db(np.full(8000, np.nan), sample_rate=8000)
