"""Writing datasets: file names, manifest, tables that match the audio, reproducible bytes."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from dolphin.annotations import read_raven
from dolphin.audio.io import read_audio
from dolphin.errors import DolphinError
from dolphin.synth.dataset import write_dataset

from .conftest import small_config


def _config(**overrides):
    base = dict(sample_rate=48000, duration_s=2.5, shrimp_rate_hz=5.0, seed=11)
    base.update(overrides)
    return small_config(**base)


@pytest.fixture(scope="module")
def two_datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("datasets")
    a = write_dataset(root / "a", _config(), n_files=2, progress=False)
    b = write_dataset(root / "b", _config(), n_files=2, progress=False)
    return root, a, b


def test_layout_and_manifest(two_datasets):
    root, manifest, _ = two_datasets
    names = sorted(p.name for p in (root / "a").iterdir())
    assert names == [
        "manifest.json",
        "scene_0000_20250701T000000Z.Table.1.selections.contours.jsonl",
        "scene_0000_20250701T000000Z.Table.1.selections.txt",
        "scene_0000_20250701T000000Z.wav",
        "scene_0001_20250701T000002Z.Table.1.selections.contours.jsonl",
        "scene_0001_20250701T000002Z.Table.1.selections.txt",
        "scene_0001_20250701T000002Z.wav",
    ]
    saved = json.loads((root / "a" / "manifest.json").read_text())
    assert saved["sample_rate"] == 48000 and saved["duration_s"] == 2.5
    assert saved["config"]["seed"] == 11 and saved["version"]
    assert len(saved["files"]) == 2 and saved["files"][1]["start_utc"] == "2025-07-01T00:00:02Z"
    assert saved["files"][0]["seed"] != saved["files"][1]["seed"]
    total = sum(f["event_counts"]["whistle"] for f in saved["files"])
    assert saved["event_counts"]["whistle"] == total > 0
    assert manifest.files[0].audio == "scene_0000_20250701T000000Z.wav"


def test_tables_and_audio_match(two_datasets):
    root, manifest, _ = two_datasets
    for entry in manifest.files:
        audio = read_audio(root / "a" / entry.audio)
        assert audio.sample_rate == 48000 and audio.samples.shape == (1, 120000)
        events = read_raven(root / "a" / entry.table)
        assert len(events) == sum(entry.event_counts.values())
        for e in events:
            assert 0 <= e.start_s < e.end_s <= 2.5 and e.snr_db is not None
            if e.label == "whistle":
                assert e.contour is not None and e.start_s <= e.contour.times_s[0]


def test_same_config_same_bytes(two_datasets):
    root, _, _ = two_datasets
    for path in sorted((root / "a").iterdir()):
        assert path.read_bytes() == (root / "b" / path.name).read_bytes(), path.name


def test_different_seed_different_audio(two_datasets, tmp_path: Path):
    root, _, _ = two_datasets
    write_dataset(tmp_path, _config(seed=12), n_files=1, progress=False)
    name = "scene_0000_20250701T000000Z.wav"
    assert (tmp_path / name).read_bytes() != (root / "a" / name).read_bytes()
    x = read_audio(tmp_path / name).samples
    assert np.abs(x).max() < 1.0


def test_names_carry_the_start_time(two_datasets):
    names = pytest.importorskip("dolphin.audio.names")
    root, manifest, _ = two_datasets
    start = names.parse_start_time(manifest.files[1].audio)
    assert start.replace(tzinfo=timezone.utc) == datetime(2025, 7, 1, 0, 0, 2, tzinfo=timezone.utc)


def test_rejects_zero_files(tmp_path: Path):
    with pytest.raises(DolphinError, match="n_files"):
        write_dataset(tmp_path, _config(), n_files=0, progress=False)
