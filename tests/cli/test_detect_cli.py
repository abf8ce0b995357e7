"""``dolphin detect``: tables and sidecars, folder runs that resume and shard, clear errors."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from dolphin.annotations import WHISTLE, Contour, read_raven
from dolphin.audio.io import write_audio
from dolphin.cli.main import main
from dolphin.config import compose, conf_dir, load_config
from dolphin.detect.batch import find_recordings, shard_from_env
from dolphin.detect.outputs import OutputPaths, read_detections
from dolphin.detect.pipeline import DetectorConfig
from dolphin.errors import ConfigError
from dolphin.synth.background import ocean_noise
from dolphin.synth.sounds import render_whistle

SR = 48000


def _recording(path: Path, seed: int, *, duration_s: float = 1.5) -> Path:
    """Ocean noise with one up-sweep whistle at 0.3 s (mono, 24-bit WAV)."""
    rng = np.random.default_rng(seed)
    x = ocean_noise(n_samples=int(duration_s * SR), sample_rate=SR, rng=rng, rms=0.01)
    t = np.arange(0.0, 0.5, 0.001)
    tone = 0.05 * render_whistle(Contour(t, 6000.0 + 12000.0 * t), sample_rate=SR)
    i = int(0.3 * SR)
    x[i : i + tone.size] += tone[: x.size - i]
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_audio(path, x.astype(np.float32), SR)


@pytest.fixture
def archive(tmp_path) -> Path:
    """A folder of four recordings, one in a subfolder."""
    root = tmp_path / "in"
    for k, name in enumerate(["a.wav", "b.wav", "c.wav", "day2/d.wav"]):
        _recording(root / name, k)
    return root


def _detect(*argv: str) -> int:
    return main(["detect", "--no-progress", *argv])


def test_single_file_writes_table_contours_csv_and_json(tmp_path, capsys):
    wav = _recording(tmp_path / "rec.wav", 0)
    table = tmp_path / "rec.Table.1.selections.txt"
    assert _detect(str(wav), "--out", str(table), "--format", "csv", "json") == 0
    assert "1 events" in capsys.readouterr().out
    header = table.read_text().splitlines()[0].split("\t")
    for column in ("Class", "Begin Time (s)", "Low Freq (Hz)", "Score", "Contour ID"):
        assert column in header
    assert "Individual" in header and "Whistle Type" in header  # empty until a catalogue
    (event,) = read_detections(table)
    assert event.label == WHISTLE and event.individual is None and event.whistle_type is None
    assert abs(event.start_s - 0.3) < 0.03 and event.extra["Contour ID"] == "1"
    assert event.contour is not None and 5500 < event.contour.freqs_hz.mean() < 12500
    paths = OutputPaths.for_table(table)
    (row,) = csv.DictReader(paths.csv.open())
    assert row["class"] == WHISTLE and row["contour_id"] == "1"
    doc = json.loads(paths.json.read_text())
    assert doc["sample_rate"] == SR and doc["events"][0]["contour_id"] == 1
    assert json.loads(paths.contours.read_text())["id"] == 1
    assert not paths.done.exists()  # markers belong to folder runs


def test_folder_run_resumes_and_skips_finished_files(archive, tmp_path, capsys):
    out = tmp_path / "out"
    assert _detect(str(archive), "--out", str(out)) == 0
    assert "4 recording(s) done" in capsys.readouterr().out
    tables = sorted(out.rglob("*.selections.txt"))
    assert [t.relative_to(out).as_posix() for t in tables] == [
        "a.Table.1.selections.txt",
        "b.Table.1.selections.txt",
        "c.Table.1.selections.txt",
        "day2/d.Table.1.selections.txt",
    ]
    before = {t: t.stat().st_mtime_ns for t in tables}
    # A run killed after writing b's outputs but before its marker: b is done again.
    OutputPaths.for_recording(out, "b").done.unlink()
    assert _detect(str(archive), "--out", str(out)) == 0
    assert "1 recording(s) done (1 events), 3 already done" in capsys.readouterr().out
    changed = [t.name for t in tables if t.stat().st_mtime_ns != before[t]]
    assert changed == ["b.Table.1.selections.txt"]
    # Other settings are not the same job: everything is done again.
    assert _detect(str(archive), "detect.whistles.peak_snr_db=8", "--out", str(out)) == 0
    assert "4 recording(s) done" in capsys.readouterr().out


def test_shards_split_the_folder(archive, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert _detect(str(archive), "--out", str(out), "--shard", "1/3") == 0
    assert "shard 1/3: 1 of the folder" in capsys.readouterr().out
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "3")
    assert shard_from_env() == (0, 3)
    assert _detect(str(archive), "--out", str(out)) == 0
    assert "shard 0/3: 2 of the folder" in capsys.readouterr().out
    done = sorted(p.name for p in out.rglob("*.done"))
    assert done == ["a.done", "b.done", "d.done"]  # shard 2 (c) never ran
    assert len(find_recordings(archive)) == 4


def test_a_bad_file_in_a_folder_is_reported_and_the_rest_done(archive, tmp_path, capsys):
    (archive / "broken.wav").write_bytes(b"RIFF\x00\x00")
    assert _detect(str(archive), "--out", str(tmp_path / "out")) == 2
    captured = capsys.readouterr()
    assert "4 recording(s) done" in captured.out and "1 failed" in captured.out
    assert "broken.wav: truncated or corrupt header" in captured.err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file is empty (0 bytes)"),
        (b"hello, this is not audio", "not an audio file"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "truncated or corrupt header"),
    ],
    ids=["empty", "text", "truncated"],
)
def test_corrupt_or_empty_input_exits_2(tmp_path, capsys, content, message):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    assert _detect(str(bad), "--out", str(tmp_path / "x.txt")) == 2
    err = capsys.readouterr().err
    assert "dolphin detect: error:" in err and message in err
    assert not (tmp_path / "x.txt").exists()


def test_unsupported_sample_rate_names_the_file(tmp_path, capsys):
    wav = write_audio(tmp_path / "low.wav", np.zeros((1, 16000), np.float32), 16000)
    assert _detect(str(wav), "--out", str(tmp_path / "t.txt")) == 2
    assert "low.wav: sample rate 16000 Hz is outside" in capsys.readouterr().err


def test_empty_folder_and_bad_shard_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert _detect(str(tmp_path / "empty"), "--out", str(tmp_path / "o")) == 2
    assert "no audio files" in capsys.readouterr().err
    (tmp_path / "empty" / "a.wav").write_bytes(b"")
    assert _detect(str(tmp_path / "empty"), "--out", str(tmp_path / "o"), "--shard", "3/3") == 2
    assert "need 0 <= I < N" in capsys.readouterr().err


def test_detect_config_composes_and_rejects_misspelt_keys(tmp_path, capsys):
    cfg = load_config(["detect.clicks.threshold_db=15", "detect.block_s=2"])
    assert isinstance(cfg.detect, DetectorConfig) and cfg.detect.clicks.threshold_db == 15
    assert load_config().detect == DetectorConfig()  # conf/detect/default.yaml mirrors defaults
    assert (conf_dir() / "detect" / "default.yaml").is_file()
    with pytest.raises(ConfigError, match="treshold_db"):
        compose(["detect.clicks.treshold_db=15"])
    with pytest.raises(ConfigError, match="block_s"):
        load_config(["detect.block_s=0"])
    wav = _recording(tmp_path / "rec.wav", 0, duration_s=0.5)
    assert _detect(str(wav), "detect.whistles.fmn_hz=1", "--out", str(tmp_path / "t.txt")) == 2
    assert "fmn_hz" in capsys.readouterr().err


def test_catalogue_hook_needs_its_module(tmp_path, capsys, monkeypatch):
    wav = _recording(tmp_path / "rec.wav", 0, duration_s=0.5)
    monkeypatch.setattr("dolphin.detect.batch.CATALOGUE_MODULE", "dolphin.detect.no_such_module")
    assert _detect(str(wav), "--out", str(tmp_path / "t.txt"), "--catalogue", "c.json") == 2
    assert "needs the module dolphin.detect.no_such_module" in capsys.readouterr().err


def test_catalogue_labels_matching_whistles(tmp_path):
    catalogue = pytest.importorskip("dolphin.detect.catalogue")
    wav = _recording(tmp_path / "rec.wav", 0)
    table = tmp_path / "t.txt"
    assert _detect(str(wav), "--out", str(table)) == 0
    (event,) = read_detections(table)
    cat = catalogue.SignatureCatalogue()
    cat.add("ind07", [event.contour])
    cat.save(tmp_path / "cat.json")
    assert _detect(str(wav), "--out", str(table), "--catalogue", str(tmp_path / "cat.json")) == 0
    (event,) = read_raven(table)
    assert event.individual == "ind07" and event.signature


def test_shard_from_env_defaults_to_everything():
    assert shard_from_env({}) == (0, 1)
    assert shard_from_env({"RANK": "2", "WORLD_SIZE": "4"}) == (2, 4)
