"""The `dolphin` console script: subcommands run end to end and report bad input clearly."""

from __future__ import annotations

import json

import pytest

from dolphin.annotations import read_raven
from dolphin.audio.io import audio_info
from dolphin.cli.main import main


def test_synth_writes_audio_tables_and_manifest(tmp_path, capsys):
    out = tmp_path / "synth"
    code = main(
        [
            "synth",
            "--out",
            str(out),
            "--duration-s",
            "4",
            "--sample-rate",
            "48000",
            "--seed",
            "3",
            "--n-files",
            "2",
            "--no-progress",
            "synth.whistle_rate_per_min=30",
        ]
    )
    assert code == 0
    wavs = sorted(out.glob("scene_*.wav"))
    assert len(wavs) == 2
    info = audio_info(wavs[0])
    assert info.sample_rate == 48000 and info.duration_s == pytest.approx(4.0)
    assert info.start_time is not None  # recorder-style name carries the start time
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["files"]) == 2
    tables = sorted(out.glob("*.selections.txt"))
    assert len(tables) == 2 and any(read_raven(t) for t in tables)


def test_overrides_may_follow_options_and_stray_arguments_fail(tmp_path, capsys):
    out = tmp_path / "synth"
    argv = ["synth", "synth.whistle_rate_per_min=30", "--out", str(out), "--duration-s", "1"]
    assert main([*argv, "--no-progress", "synth.seed=4"]) == 0
    assert json.loads((out / "manifest.json").read_text())["files"]
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--no-progress", "stray"])
    assert stop.value.code == 2
    assert "unrecognized arguments: stray" in capsys.readouterr().err


def test_info_prints_metadata_as_json(tmp_path, capsys):
    main(
        [
            "synth",
            "--out",
            str(tmp_path),
            "--duration-s",
            "1",
            "--sample-rate",
            "48000",
            "--no-progress",
        ]
    )
    capsys.readouterr()
    wav = next(tmp_path.glob("*.wav"))
    assert main(["info", "--json", str(wav)]) == 0
    fields = json.loads(capsys.readouterr().out)
    assert fields["sample_rate"] == 48000 and fields["channels"] == 1 and fields["bit_depth"] == 24


@pytest.mark.parametrize(
    "argv, message",
    [
        (["info", "MISSING.wav"], "MISSING.wav: file does not exist"),
        (["synth", "--out", "X", "synth.sampel_rate=1"], "sampel_rate"),
        (["synth", "--out", "X", "--sample-rate", "5"], "sample_rate"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
