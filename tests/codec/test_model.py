"""Codec: shapes, gradients, n_q, input checks, save / load and the identity hash."""

from __future__ import annotations

import json

import pytest
import torch

from dolphin.codec import Codec, CodecConfig, CodecInputError, CodecOutput, build_debug_codec
from dolphin.errors import DolphinError

from .conftest import make_chirp, make_noise


def test_encode_decode_shapes(codec: Codec) -> None:
    audio = make_noise(n_samples=4801, batch=2)
    codes = codec.encode(audio)
    assert codes.shape == (2, 4, 11) and codes.dtype == torch.long
    assert 0 <= int(codes.min()) and int(codes.max()) < codec.config.codebook_size
    out = codec.decode(codes)
    assert out.shape == (2, 1, 11 * 480)
    assert codec.decode(codes, n_samples=4801).shape == (2, 1, 4801)


def test_fewer_codebooks_at_encode_time(codec: Codec) -> None:
    audio = make_chirp()
    full = codec.encode(audio)
    two = codec.encode(audio, n_q=2)
    assert two.shape[1] == 2
    assert torch.equal(two, full[:, :2])  # residual quantization: a prefix of the codes
    assert codec.decode(two).shape == codec.decode(full).shape
    with pytest.raises(ValueError, match="n_q"):
        codec.encode(audio, n_q=5)


def test_forward_output_and_gradient_flow() -> None:
    codec = build_debug_codec().train()
    audio = make_chirp(duration_s=0.1) + make_noise(n_samples=4800)
    out = codec(audio, n_q=codec.n_q)
    assert isinstance(out, CodecOutput)
    assert out.audio.shape == audio.shape
    assert out.codes.shape == (1, 4, 10)
    assert out.latent.shape == (1, codec.config.latent_dim, 10)
    (out.audio.square().mean() + out.commitment_loss).backward()
    for part in (codec.encoder, codec.decoder):
        grads = [p.grad for p in part.parameters()]
        assert all(g is not None for g in grads)
        assert all(torch.isfinite(g).all() for g in grads)
    # The encoder receives the decoder's gradient through the straight-through estimator.
    assert codec.encoder.proj.weight.grad.abs().sum() > 0


def test_properties_and_latency() -> None:
    codec = Codec(CodecConfig())
    assert codec.sample_rate == 96000 and codec.hop_length == 960
    assert codec.frame_rate == 100.0 and codec.n_q == 8
    assert codec.bitrate_bps == 8000.0
    assert codec.latency_samples == 960 + 720
    assert codec.algorithmic_latency_s == pytest.approx(0.0175)
    assert 1e6 < codec.num_parameters < 5e6


def test_wrong_sample_rate_is_refused(codec: Codec) -> None:
    with pytest.raises(CodecInputError, match="96000 Hz but this codec works at 48000 Hz"):
        codec.encode(make_chirp(), sample_rate=96000)
    assert codec.encode(make_chirp(), sample_rate=48000).shape[-1] == 30


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_non_finite_input_is_refused(codec: Codec, bad: float) -> None:
    audio = make_chirp()
    audio[0, 0, 100] = bad
    with pytest.raises(CodecInputError, match="NaN or infinite"):
        codec.encode(audio)
    with pytest.raises(ValueError):  # CodecInputError is a ValueError
        codec.encode(audio)


@pytest.mark.parametrize("shape", [(4800,), (1, 4800), (1, 2, 4800)])
def test_wrong_shape_is_refused(codec: Codec, shape: tuple[int, ...]) -> None:
    with pytest.raises(CodecInputError, match=r"\[B, 1, T\]"):
        codec.encode(torch.zeros(shape))


def test_integer_audio_and_bad_codes_are_refused(codec: Codec) -> None:
    with pytest.raises(CodecInputError, match="floating point"):
        codec.encode(torch.zeros(1, 1, 480, dtype=torch.int16))
    with pytest.raises(CodecInputError, match="lie in"):
        codec.decode(torch.full((1, 4, 3), 64))
    with pytest.raises(CodecInputError, match="n_q"):
        codec.decode(torch.zeros(1, 5, 3, dtype=torch.long))


def test_silence_and_clipped_input_work(codec: Codec) -> None:
    silence = torch.zeros(1, 1, 4800)
    out = codec.decode(codec.encode(silence))
    assert torch.isfinite(out).all()
    clipped = (make_chirp() * 10).clamp(-1, 1)
    hot = make_chirp() * 50  # far beyond full scale: accepted as is
    for audio in (clipped, hot):
        out = codec.decode(codec.encode(audio))
        assert torch.isfinite(out).all()


def test_empty_input(codec: Codec) -> None:
    codes = codec.encode(torch.zeros(1, 1, 0))
    assert codes.shape == (1, 4, 0)
    assert codec.decode(codes).shape == (1, 1, 0)


def test_save_load_round_trip(codec: Codec, tmp_path) -> None:
    audio = make_chirp()
    codec.save(tmp_path / "codec")
    assert sorted(p.name for p in (tmp_path / "codec").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    meta = json.loads((tmp_path / "codec" / "config.json").read_text())
    assert meta["identity_hash"] == codec.identity_hash()
    loaded = Codec.load(tmp_path / "codec")
    assert loaded.identity_hash() == codec.identity_hash()
    assert loaded.config == codec.config
    codes = codec.encode(audio)
    assert torch.equal(loaded.encode(audio), codes)
    assert torch.equal(loaded.decode(codes), codec.decode(codes))


@pytest.mark.parametrize("precision", ["float16", "int8"])
def test_compact_save_is_smaller_and_loads_back_identical(
    precision: str, tmp_path, monkeypatch
) -> None:
    import dolphin.compact as compact

    monkeypatch.setattr(compact, "INT8_MIN_SIZE", 1024)  # the tiny codec's matrices are small
    codec, audio = build_debug_codec(), make_chirp()
    before = codec.decode(codec.encode(audio))
    full = codec.save(tmp_path / "full") / "model.safetensors"
    small = codec.save(tmp_path / "small", precision=precision) / "model.safetensors"
    assert small.stat().st_size < (0.6 if precision == "float16" else 0.45) * full.stat().st_size
    loaded = Codec.load(tmp_path / "small")
    assert loaded.identity_hash() == codec.identity_hash()  # the codec was rounded on saving
    codes = codec.encode(audio)
    assert torch.equal(loaded.encode(audio), codes)
    assert torch.equal(loaded.decode(codes), codec.decode(codes))
    # rounding the weights changes the sound only a little
    err = (codec.decode(codes) - before).pow(2).mean() / before.pow(2).mean()
    assert float(err) < 0.05
    assert torch.equal(loaded.quantizer.embed_avg, loaded.quantizer.embed)  # rebuilt statistics
    with pytest.raises(ValueError, match="precision"):
        codec.save(tmp_path / "bad", precision="int4")


def test_identity_hash_tracks_weights_and_config(codec: Codec) -> None:
    first = codec.identity_hash()
    assert len(first) == 12 and first == codec.identity_hash()
    other = build_debug_codec(n_codebooks=3)
    assert other.identity_hash() != first
    with torch.no_grad():
        codec.decoder.head.bias[0] += 1e-3
    assert codec.identity_hash() != first


def test_load_refuses_other_folders(tmp_path) -> None:
    with pytest.raises(DolphinError, match="not a saved codec"):
        Codec.load(tmp_path)
