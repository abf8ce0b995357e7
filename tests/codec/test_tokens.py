"""Token files: safetensors round trip and refusal of mismatched codecs."""

from __future__ import annotations

import pytest
import torch
from safetensors import safe_open

from dolphin.codec import Codec, build_debug_codec
from dolphin.codec.tokens import TokenFileError, check_compatible, load_tokens, save_tokens
from dolphin.errors import DolphinError

from .conftest import make_chirp


def write(codec: Codec, path, audio: torch.Tensor) -> torch.Tensor:
    codes = codec.encode(audio)[0]
    save_tokens(
        path,
        codes,
        sample_rate=codec.sample_rate,
        hop_length=codec.hop_length,
        n_q=codes.shape[0],
        codec_hash=codec.identity_hash(),
        n_samples=audio.shape[-1],
        extra={"source": "chirp.wav", "gain_db": 3.5},
    )
    return codes


def test_round_trip(codec: Codec, tmp_path) -> None:
    audio = make_chirp()
    codes = write(codec, tmp_path / "a.safetensors", audio)
    tokens = load_tokens(tmp_path / "a.safetensors")
    assert torch.equal(tokens.codes, codes)
    assert tokens.codes.dtype == torch.long
    assert (tokens.sample_rate, tokens.hop_length, tokens.n_q) == (48000, 480, 4)
    assert tokens.n_samples == audio.shape[-1] and tokens.duration_s == pytest.approx(0.3)
    assert tokens.codec_hash == codec.identity_hash()
    assert tokens.extra == {"source": "chirp.wav", "gain_db": "3.5"}
    check_compatible(tokens, codec)
    decoded = codec.decode(tokens.codes[None], n_samples=tokens.n_samples)
    assert decoded.shape == audio.shape
    with safe_open(str(tmp_path / "a.safetensors"), framework="pt") as handle:
        assert handle.get_tensor("codes").dtype == torch.int16  # compact storage


def test_mismatched_codec_is_refused(codec: Codec, tmp_path) -> None:
    write(codec, tmp_path / "a.safetensors", make_chirp())
    tokens = load_tokens(tmp_path / "a.safetensors")
    other = build_debug_codec(sample_rate=96000, hop_length=960)
    with pytest.raises(TokenFileError) as err:
        check_compatible(tokens, other)
    message = str(err.value)
    assert f"tokens were made by codec {codec.identity_hash()} at 48000 Hz" in message
    assert f"this codec is {other.identity_hash()} at 96000 Hz" in message
    assert isinstance(err.value, DolphinError)
    retrained = build_debug_codec()  # same config, other weights
    with pytest.raises(TokenFileError, match="tokens were made by codec"):
        check_compatible(tokens, retrained)


def test_bad_inputs_and_files(tmp_path) -> None:
    with pytest.raises(TokenFileError, match="no such token file"):
        load_tokens(tmp_path / "missing.safetensors")
    (tmp_path / "junk.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(TokenFileError, match="not a readable token file"):
        load_tokens(tmp_path / "junk.safetensors")
    args = dict(sample_rate=48000, hop_length=480, codec_hash="x", n_samples=10)
    with pytest.raises(TokenFileError, match="n_q"):
        save_tokens(tmp_path / "b.safetensors", torch.zeros(4, 3, dtype=torch.long), n_q=2, **args)
    with pytest.raises(TokenFileError, match="integer"):
        save_tokens(tmp_path / "b.safetensors", torch.zeros(4, 3), n_q=4, **args)


def test_large_codebooks_use_int32(tmp_path) -> None:
    codes = torch.tensor([[0, 40000, 65535]])
    save_tokens(
        tmp_path / "c.safetensors",
        codes,
        sample_rate=96000,
        hop_length=960,
        n_q=1,
        codec_hash="abc",
        n_samples=2880,
    )
    assert torch.equal(load_tokens(tmp_path / "c.safetensors").codes, codes)
