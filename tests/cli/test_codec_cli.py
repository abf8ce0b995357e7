"""``dolphin codec encode|decode``: streamed round trips, folder mode and clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from dolphin import hub
from dolphin.audio.dsp import resample
from dolphin.audio.io import read_audio, write_audio
from dolphin.audio.resampler import BlockResampler
from dolphin.cli.main import main
from dolphin.codec import Codec, build_debug_codec, load_tokens

RATE = 48000


def signal(n: int, seed: int = 0) -> np.ndarray:
    """A 6-14 kHz sweep plus noise, float32 ``[n]``."""
    t = np.arange(n) / RATE
    sweep = 0.4 * np.sin(2 * np.pi * (6000 * t + 4000 * t * t))
    noise = 0.05 * np.random.default_rng(seed).standard_normal(n)
    return (sweep + noise).astype(np.float32)


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> tuple[Codec, str]:
    """The tiny codec, codebooks initialised by one training step, and its saved folder."""
    codec = build_debug_codec()
    with torch.random.fork_rng():
        torch.manual_seed(1)
        codec.train()
        codec(torch.from_numpy(np.stack([signal(9600, 1), signal(9600, 2)]))[:, None])
    codec.eval()
    return codec, str(codec.save(tmp_path_factory.mktemp("codec") / "tiny"))


@pytest.fixture
def cli(model):
    """``cli("encode", IN, OUT, ...)`` runs ``dolphin codec`` with the tiny codec; exit code."""

    def run(*args, model_dir: str | None = model[1]) -> int:
        extra = ["--no-progress"] + (["--model", model_dir] if model_dir else [])
        return main(["codec", *map(str, args), *extra])

    return run


def test_round_trip_streams_the_same_codes(model, cli, tmp_path, capsys) -> None:
    codec = model[0]
    x = signal(50_000)  # not a whole number of hops or blocks
    write_audio(tmp_path / "a.wav", x, RATE, subtype="FLOAT")
    assert cli("encode", tmp_path / "a.wav", tmp_path / "a.tokens", "--block-s", "0.13") == 0
    tokens = load_tokens(tmp_path / "a.tokens")
    whole = codec.encode(torch.from_numpy(x)[None, None])[0]
    assert torch.equal(tokens.codes, whole)  # blocks of 0.13 s: bit-identical codes
    assert tokens.n_samples == x.size and tokens.extra["source"] == "a.wav"
    assert cli("decode", tmp_path / "a.tokens", tmp_path / "b.wav", "--subtype", "FLOAT") == 0
    y = read_audio(tmp_path / "b.wav")
    expected = codec.decode(whole[None], n_samples=x.size)[0].numpy()
    assert y.sample_rate == RATE and y.samples.shape == (1, x.size)
    np.testing.assert_allclose(y.samples, expected, atol=1e-5)
    assert "4 x 105 codes (2400 bps)" in capsys.readouterr().out


def test_other_rate_is_resampled_and_channel_chosen(model, cli, tmp_path, capsys) -> None:
    codec = model[0]
    stereo = np.stack([signal(30_000, 3), signal(30_000, 4)])
    write_audio(tmp_path / "s.wav", stereo, 44100, subtype="FLOAT")
    options = ("--channel", "1", "--n-q", "2", "--block-s", "0.2")
    assert cli("encode", tmp_path / "s.wav", tmp_path, *options) == 0
    assert "s.wav is at 44100 Hz; resampling to 48000 Hz" in capsys.readouterr().err
    tokens = load_tokens(tmp_path / "s.tokens")  # OUT a folder: named after IN
    at_rate = resample(stereo[1], orig_sr=44100, target_sr=RATE)
    assert tokens.n_samples == at_rate.size and tokens.n_q == 2
    assert torch.equal(tokens.codes, codec.encode(torch.from_numpy(at_rate)[None, None], n_q=2)[0])
    assert cli("encode", tmp_path / "s.wav", tmp_path / "t.tokens", "--channel", "2") == 2
    assert "no channel 2" in capsys.readouterr().err


def test_block_resampler_equals_offline() -> None:
    x = signal(20_011)
    stream = BlockResampler(44100, 96000)
    pieces = [stream.push(x[i : i + 777]) for i in range(0, x.size, 777)] + [stream.flush()]
    np.testing.assert_array_equal(
        np.concatenate(pieces), resample(x, orig_sr=44100, target_sr=96000)
    )


def test_folder_mode_mirrors_names_and_skips_done(cli, tmp_path, capsys) -> None:
    (tmp_path / "in" / "day1").mkdir(parents=True)
    write_audio(tmp_path / "in" / "day1" / "x.wav", signal(12_000, 5), RATE)
    write_audio(tmp_path / "in" / "y.flac", signal(9_000, 6), RATE, subtype="PCM_16")
    (tmp_path / "in" / "notes.txt").write_text("not audio")
    (tmp_path / "in" / "z.wav").write_bytes(b"corrupt")  # fails alone; the others go through
    src, tok, out = tmp_path / "in", tmp_path / "tok", tmp_path / "out"
    assert cli("encode", src, tok) == 2
    names = sorted(p.relative_to(tok).as_posix() for p in tok.rglob("*.tokens"))
    assert names == ["day1/x.tokens", "y.tokens"]
    assert "encoded 2 file(s), skipped 0 already done, 1 failed" in capsys.readouterr().out
    (tmp_path / "in" / "z.wav").unlink()
    assert cli("encode", src, tok) == 0
    assert "encoded 0 file(s), skipped 2 already done" in capsys.readouterr().out
    assert cli("decode", tok, out) == 0
    assert sf.info(str(out / "day1" / "x.wav")).frames == 12_000
    assert sf.info(str(out / "y.wav")).frames == 9_000
    assert cli("decode", tok, out) == 0
    assert "decoded 0 file(s), skipped 2 already done" in capsys.readouterr().out


def test_tokens_of_another_codec_are_refused(cli, tmp_path, capsys) -> None:
    write_audio(tmp_path / "a.wav", signal(4800), RATE)
    assert cli("encode", tmp_path / "a.wav", tmp_path / "a.tokens") == 0
    other = str(build_debug_codec(sample_rate=96000, hop_length=960).save(tmp_path / "other"))
    assert cli("decode", tmp_path / "a.tokens", tmp_path / "a.wav", model_dir=other) == 2
    err = capsys.readouterr().err
    assert "dolphin codec: error:" in err and "tokens were made by codec" in err
    assert "this codec is" in err and "at 96000 Hz" in err


def test_missing_or_corrupt_input_exits_2(cli, tmp_path, capsys, monkeypatch) -> None:
    assert cli("encode", tmp_path / "nope.wav", tmp_path / "n.tokens") == 2
    assert "nope.wav: file does not exist" in capsys.readouterr().err
    (tmp_path / "bad.wav").write_bytes(b"RIFF\x00\x00garbage" * 10)
    assert cli("encode", tmp_path / "bad.wav", tmp_path / "b.tokens") == 2
    assert "bad.wav" in capsys.readouterr().err
    (tmp_path / "bad.tokens").write_bytes(b"\x00" * 64)
    assert cli("decode", tmp_path / "bad.tokens", tmp_path / "b.wav") == 2
    assert "not a readable token file" in capsys.readouterr().err
    assert not (tmp_path / "b.wav").exists() and not (tmp_path / "b.tokens").exists()
    write_audio(tmp_path / "a.wav", signal(4800), RATE)
    assert cli("encode", tmp_path / "a.wav", tmp_path / "a.tokens", "--n-q", "9") == 2
    assert "--n-q must be in [1, 4]" in capsys.readouterr().err
    monkeypatch.setattr(hub, "WEIGHTS_ROOT", tmp_path / "empty")
    assert cli("encode", tmp_path / "a.wav", tmp_path / "a.tokens", model_dir=None) == 2
    assert "default codec weights are not shipped" in capsys.readouterr().err
