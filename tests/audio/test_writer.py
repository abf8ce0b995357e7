"""Tests of dolphin.audio.writer.AudioWriter: block-wise writing, atomic publish, refusals."""

from __future__ import annotations

import numpy as np
import pytest

from dolphin.audio.io import read_audio
from dolphin.audio.writer import AudioWriter
from dolphin.errors import AudioFileError


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".w64", ".rf64"])
def test_blocks_written_equal_blocks_read(tmp_path, suffix):
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(-0.9, 0.9, (2, n)).astype(np.float32) for n in (1000, 1, 4097)]
    path = tmp_path / f"out{suffix}"
    with AudioWriter(path, sample_rate=96000, n_channels=2) as writer:
        for block in blocks:
            writer.write(block)
        assert not path.exists()  # published only on close
    audio = read_audio(path)
    assert audio.sample_rate == 96000
    np.testing.assert_allclose(audio.samples, np.concatenate(blocks, axis=1), atol=2.0**-22)
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_error_inside_with_keeps_the_old_file(tmp_path):
    path = tmp_path / "keep.wav"
    with AudioWriter(path, sample_rate=48000, n_channels=1) as writer:
        writer.write(np.zeros((1, 100), np.float32))
    with pytest.raises(RuntimeError):
        with AudioWriter(path, sample_rate=48000, n_channels=1) as writer:
            writer.write(np.ones((1, 50), np.float32) * 0.5)
            raise RuntimeError("recording failed")
    assert read_audio(path).n_frames == 100
    assert [p.name for p in tmp_path.iterdir()] == ["keep.wav"]


def test_refuses_nan_and_wrong_channel_count(tmp_path):
    writer = AudioWriter(tmp_path / "x.wav", sample_rate=48000, n_channels=1)
    with pytest.raises(AudioFileError, match="NaN"):
        writer.write(np.array([[0.0, np.nan]], np.float32))
    with pytest.raises(AudioFileError, match="full scale"):
        writer.write(np.array([[0.0, 1.5]], np.float32))
    with pytest.raises(AudioFileError, match="channels"):
        writer.write(np.zeros((2, 10), np.float32))
    writer.discard()


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(AudioFileError, match=".xyz"):
        AudioWriter(tmp_path / "x.xyz", sample_rate=48000, n_channels=1)
