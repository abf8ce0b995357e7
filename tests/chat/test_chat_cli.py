"""``dolphin chat``: vocab create/list/render/from-recordings and scan, exit code 2 on bad input."""

from __future__ import annotations

import json

import pytest

from dolphin.audio.io import audio_info, write_audio
from dolphin.cli.chat import CHAT_COMMANDS
from dolphin.cli.main import main

from .conftest import SR

FAST = "chat.vocab.n_candidates=12"  # a quick design; the CLI path is what is tested


def test_chat_commands_are_registered():
    assert CHAT_COMMANDS[:2] == ("vocab", "scan")


def test_vocab_create_list_render(tmp_path, capsys):
    out = tmp_path / "vocab.json"
    code = main(
        [
            "chat",
            "vocab",
            "create",
            "--n",
            "3",
            "--labels",
            "scarf,rope,sargassum",
            "--out",
            str(out),
            "--render-dir",
            str(tmp_path / "wav"),
            "--sample-rate",
            "96000",
            FAST,
        ]
    )
    assert code == 0
    assert [e["label"] for e in json.loads(out.read_text())["entries"]] == [
        "scarf",
        "rope",
        "sargassum",
    ]
    assert "min distance between entries" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "wav").iterdir()) == [
        "rope.wav",
        "sargassum.wav",
        "scarf.wav",
    ]
    assert main(["chat", "vocab", "list", str(out)]) == 0
    listing = capsys.readouterr().out
    assert "scarf" in listing and "nearest natural" in listing
    assert (
        main(
            [
                "chat",
                "vocab",
                "render",
                str(out),
                "--out",
                str(tmp_path / "r"),
                "--sample-rate",
                "192000",
            ]
        )
        == 0
    )
    assert audio_info(tmp_path / "r" / "rope.wav").sample_rate == 192000


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["vocab", "create", "--n", "3", "--labels", "a,b", "--out", "{tmp}/v.json", FAST],
            "2 labels for 3 entries",
        ),
        (["vocab", "create", "--labels", "a,,b", "--out", "{tmp}/v.json"], "empty label"),
        (["vocab", "create", "--n", "3", "--out", "{tmp}/v.json", "chat.vocab.fmaxhz=1"], "fmaxhz"),
        (["vocab", "list", "{tmp}/missing.json"], "missing.json: vocabulary file not found"),
        (
            ["vocab", "render", "{vocab}", "--out", "{tmp}/r", "--sample-rate", "12000"],
            "cannot carry whistles",
        ),
        (
            ["vocab", "from-recordings", "{tmp}/missing.wav", "--labels", "a", "--out", "{tmp}/v"],
            "missing.wav",
        ),
        (
            ["scan", "{tmp}/missing.wav", "--vocab", "{vocab}", "--log", "{tmp}/e.jsonl"],
            "missing.wav",
        ),
        (
            ["scan", "{wav}", "--vocab", "{tmp}/nope.json", "--log", "{tmp}/e.jsonl"],
            "nope.json: vocabulary file not found",
        ),
        (
            ["scan", "{wav}", "--vocab", "{vocab}", "--log", "{tmp}/e.jsonl", "--channel", "3"],
            "channel 3 requested",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(argv, message, tmp_path, vocab, capsys):
    vocab_path = vocab.save(tmp_path / "vocab.json")
    wav = tmp_path / "quiet.wav"
    write_audio(wav, [0.0] * SR, SR)
    argv = [a.format(tmp=tmp_path, vocab=vocab_path, wav=wav) for a in argv]
    assert main(["chat", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dolphin chat: error:") and message in err


def test_scan_prints_imitations_and_writes_the_log(tmp_path, vocab, capsys):
    import numpy as np

    from dolphin.synth.background import ocean_noise

    x = ocean_noise(n_samples=3 * SR, sample_rate=SR, rng=np.random.default_rng(0), rms=0.01)
    ours = vocab.render(SR, peak=0.1)["rope"]
    x[SR : SR + ours.size] += ours
    wav = tmp_path / "rope.flac"
    write_audio(wav, x, SR)
    log = tmp_path / "events.jsonl"
    vocab_path = vocab.save(tmp_path / "vocab.json")
    assert main(["chat", "scan", str(wav), "--vocab", str(vocab_path), "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert "rope" in out and "1 imitation(s)" in out
    assert [json.loads(line)["label"] for line in log.read_text().splitlines()] == ["rope"]
