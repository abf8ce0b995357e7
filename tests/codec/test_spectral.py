"""Causal STFT framing and the overlap-add inverse."""

from __future__ import annotations

import torch

from dolphin.codec.spectral import CausalISTFT, CompressedSpectrum, causal_frames


def test_frames_end_at_the_frame_end_no_lookahead() -> None:
    spec = CompressedSpectrum(n_fft=64, hop_length=32)
    x = torch.randn(1, 1, 320)
    y = x.clone()
    y[..., 160:] = torch.randn(160)  # change the future from frame 5 on
    fx, fy = spec(x), spec(y)
    assert fx.shape == (1, 10, 3 * 33)
    assert torch.equal(fx[:, :5], fy[:, :5])
    assert not torch.equal(fx[:, 5], fy[:, 5])


def test_silence_gives_zero_features_without_nan() -> None:
    spec = CompressedSpectrum(n_fft=64, hop_length=32)
    out = spec(torch.zeros(2, 1, 128))
    assert torch.isfinite(out).all() and out.abs().max() == 0


def test_exact_spectrum_matches_float_spectrum() -> None:
    spec = CompressedSpectrum(n_fft=96, hop_length=48)
    x = torch.randn(2, 1, 480)
    assert torch.allclose(spec.forward_exact(x, {}), spec(x), atol=1e-5)


def test_istft_inverts_a_matching_analysis() -> None:
    n_fft, hop = 64, 16
    istft = CausalISTFT(n_fft=n_fft, hop_length=hop)
    x = torch.randn(1, 640)
    frames = causal_frames(
        torch.cat([torch.zeros(1, n_fft - hop), x], -1), n_fft=n_fft, hop_length=hop
    )
    spec = torch.fft.rfft(frames * istft.window, norm="forward")
    y = istft(spec)
    # All but the last n_fft - hop samples have every overlapping segment.
    assert torch.allclose(y[0, 0, : -(n_fft - hop)], x[0, : -(n_fft - hop)], atol=1e-5)


def test_streaming_istft_equals_offline() -> None:
    istft = CausalISTFT(n_fft=64, hop_length=16)
    spec = torch.randn(2, 23, 33, dtype=torch.complex64)
    offline = istft(spec)
    cache: dict = {}
    parts = [istft(spec[:, i : i + 5], cache) for i in range(0, 23, 5)]
    streamed = torch.cat([*parts, istft.flush(cache)], -1)
    assert streamed.shape == offline.shape
    assert torch.allclose(streamed, offline, atol=1e-6)
