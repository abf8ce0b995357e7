"""Token data: cached encoding, split by recording, windows deterministic by index."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dolphin.audio.io import write_audio
from dolphin.codec import build_debug_codec
from dolphin.codec.tokens import load_tokens
from dolphin.errors import ConfigError
from dolphin.lm.data import (
    LMDataConfig,
    TokenWindows,
    load_codes,
    prepare_token_files,
    split_recordings,
    validation_windows,
)


def test_folder_recordings_are_encoded_once_and_cached(tmp_path: Path) -> None:
    codec = build_debug_codec()
    rng = np.random.default_rng(0)
    for name, seconds in (("a.wav", 0.2), ("sub/b.wav", 0.1)):
        (tmp_path / "rec" / name).parent.mkdir(parents=True, exist_ok=True)
        write_audio(tmp_path / "rec" / name, 0.1 * rng.standard_normal(int(48000 * seconds)), 48000)
    config = LMDataConfig(folder=str(tmp_path / "rec"))
    files = prepare_token_files(config, codec, tmp_path / "cache")
    assert [f.name for f in files] == ["a.tokens", "b.tokens"]
    assert files[0].parent.parent.name == codec.identity_hash()
    stamp = files[0].stat().st_mtime_ns
    assert prepare_token_files(config, codec, tmp_path / "cache") == files
    assert files[0].stat().st_mtime_ns == stamp  # reused, not encoded again
    codes = load_codes(files, codec_hash=codec.identity_hash())
    assert [c.shape[-1] for c in codes] == [20, 10]
    with pytest.raises(Exception, match="expected"):
        load_codes(files, codec_hash="000000000000")


def test_worker_processes_write_the_same_files_and_more_scenes_reuse_fewer(
    tmp_path: Path,
) -> None:
    codec = build_debug_codec()
    config = LMDataConfig(synthetic_scenes=3, synthetic_scene_s=0.2)
    serial = prepare_token_files(config, codec, tmp_path / "one")
    stamps = [f.stat().st_mtime_ns for f in serial]
    more = LMDataConfig(synthetic_scenes=5, synthetic_scene_s=0.2, encode_workers=2)
    parallel = prepare_token_files(more, codec, tmp_path / "one")
    assert parallel[:3] == serial and len(parallel) == 5  # same folder: the count is not in its tag
    assert [f.stat().st_mtime_ns for f in serial] == stamps  # the first three were not redone
    again = prepare_token_files(replace(more, encode_workers=1), codec, tmp_path / "two")
    for a, b in zip(parallel, again, strict=True):
        assert torch.equal(load_tokens(a).codes, load_tokens(b).codes)
    later = prepare_token_files(
        replace(more, synthetic_first=3, encode_workers=1), codec, tmp_path / "one"
    )
    assert later[:2] == parallel[3:]  # scenes 3-7: two reused, three new
    assert [f.name for f in later[2:]] == [f"scene_{i:05d}.tokens" for i in (5, 6, 7)]
    with pytest.raises(ConfigError, match="encode_workers"):
        LMDataConfig(encode_workers=0)
    with pytest.raises(ConfigError, match="synthetic_first"):
        LMDataConfig(synthetic_first=-1)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_encoding_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from dolphin.codec import build_debug_codec\n"
        "from dolphin.lm.data import LMDataConfig, prepare_token_files\n"
        "if __name__ == '__main__':\n"
        "    config = LMDataConfig(synthetic_scenes=5000, synthetic_scene_s=0.2, encode_workers=2)\n"
        "    prepare_token_files(config, build_debug_codec(), sys.argv[1])\n"
    )
    (tmp_path / "run.py").write_text(script)
    parent = subprocess.Popen([sys.executable, str(tmp_path / "run.py"), str(tmp_path / "cache")])
    try:
        deadline = time.monotonic() + 120
        while not list((tmp_path / "cache").rglob("*.tokens")):  # the workers are encoding
            assert parent.poll() is None and time.monotonic() < deadline
            time.sleep(0.2)
        workers = [p for p in _children(parent.pid) if "spawn" in _cmdline(p)]
        assert len(workers) == 2
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 15
    while any(_running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [p for p in workers if _running(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, "encoding workers outlived their killed parent"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def test_split_is_by_recording_and_disjoint() -> None:
    paths = [Path(f"r{i:02d}.tokens") for i in range(20)]
    train, val = split_recordings(paths, val_share=0.2, seed=1)
    assert len(val) == 4 and not set(train) & set(val) and len(train) + len(val) == 20
    assert split_recordings(paths, val_share=0.2, seed=1) == (train, val)
    assert split_recordings(paths, val_share=0.0) == (sorted(paths), [])
    with pytest.raises(ConfigError, match="needs >= 2 recordings"):
        split_recordings(paths[:1], val_share=0.1)


def test_windows_depend_only_on_index_and_pad_short_recordings() -> None:
    recs = [torch.randint(0, 64, (4, 100)).short(), torch.randint(0, 64, (4, 5)).short()]
    data = TokenWindows(recs, window_frames=16, seed=3)
    again = TokenWindows(recs, window_frames=16, seed=3)
    assert all(torch.equal(data[i], again[i]) for i in (0, 7, 10**12))
    assert data[0].shape == (4, 16) and data[0].dtype == torch.long
    short = [data[i] for i in range(200) if (data[i] < 0).any()]
    assert short and all((w[:, 5:] == -1).all() for w in short)  # the 5-frame recording, padded
    val = validation_windows(recs, window_frames=16, max_windows=3)
    assert val.shape == (3, 4, 16)
    assert torch.equal(val[0], recs[0][:, :16].long())
