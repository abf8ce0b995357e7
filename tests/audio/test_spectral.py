"""PCEN of dolphin.audio.spectral: the float32 computation against a float64 reference."""

from __future__ import annotations

import numpy as np
import scipy.signal

from dolphin.audio.spectral import pcen, power_spectrogram

from .conftest import make_noise, make_tone


def _pcen_float64(power, *, sample_rate, hop_length, time_constant_s=0.06, gain=0.8,
                  bias=10.0, power_exp=0.25, eps=1e-6):  # fmt: skip
    """The float64 formulation ``pcen`` used before it ran in float32 (librosa's)."""
    magnitude = np.sqrt(np.asarray(power, np.float64)) * 2.0**31
    t_frames = time_constant_s * sample_rate / hop_length
    b = (np.sqrt(1 + 4 * t_frames**2) - 1) / (2 * t_frames**2)
    zi = scipy.signal.lfilter_zi([b], [1, b - 1]) * magnitude[..., :1]
    smooth, _ = scipy.signal.lfilter([b], [1, b - 1], magnitude, axis=-1, zi=zi)
    agc = np.exp(-gain * (np.log(eps) + np.log1p(smooth / eps)))
    return bias**power_exp * np.expm1(power_exp * np.log1p(magnitude * agc / bias))


def test_pcen_float32_matches_float64_reference():
    # Noise with a loud tone burst: values from silence-like to strongly normalised.
    sr, hop = 96000, 48
    x = make_noise(sample_rate=sr, duration_s=1.0, std=0.01, seed=7)[0]
    tone = make_tone(12000, sample_rate=sr, duration_s=1.0, amplitude=0.5)[0]
    x[sr // 2 : sr // 2 + sr // 10] += tone[: sr // 10]
    spec = power_spectrogram(x, sample_rate=sr, n_fft=96, hop_length=hop)
    for time_constant_s in (0.06, 0.4):
        ours = pcen(spec, time_constant_s=time_constant_s)
        ref = _pcen_float64(
            spec.power, sample_rate=sr, hop_length=hop, time_constant_s=time_constant_s
        )
        assert ours.dtype == np.float32 and ours.shape == spec.power.shape
        # float32 rounding of the recursion and the logs: ~1e-6 relative, far below the
        # differences that matter to the classifier reading these values.
        np.testing.assert_allclose(ours, ref, rtol=2e-5, atol=1e-6)


def test_pcen_batched_rows_equal_single_rows_and_power_zero():
    rng = np.random.default_rng(0)
    power = rng.exponential(1e-4, (2, 3, 17, 40)).astype(np.float32)  # [B, C, F, N]
    out = pcen(power, sample_rate=48000, hop_length=128)
    assert out.shape == power.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[1, 2], pcen(power[1, 2], sample_rate=48000, hop_length=128))
    log_only = pcen(power, sample_rate=48000, hop_length=128, power=0.0)
    assert np.isfinite(log_only).all() and (log_only >= 0).all()


def test_parabolic_offset_finds_the_vertex_and_ignores_non_maxima():
    from dolphin.audio.spectral import parabolic_offset

    vertex = np.array([0.3, -0.2, 0.0])
    a, b, c = (-((d - vertex) ** 2) for d in (-1.0, 0.0, 1.0))  # parabolas peaking at vertex
    np.testing.assert_allclose(parabolic_offset(a, b, c), vertex, atol=1e-12)
    assert parabolic_offset(np.array([1.0]), np.array([0.0]), np.array([1.0]))[0] == 0.0
