"""Tests of dolphin.audio.stream: block-wise reading equals reading the whole file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dolphin.audio.io import read_audio, write_audio
from dolphin.audio.stream import Block, BlockReader, iter_blocks
from dolphin.errors import AudioFileError

SR = 48000


@pytest.fixture
def four_channel_file(tmp_path, ramp_signal):
    return write_audio(tmp_path / "four.w64", ramp_signal, SR, subtype="PCM_24")


def _join(blocks: list[Block]) -> np.ndarray:
    return np.concatenate([block.new_samples for block in blocks], axis=1)


@pytest.mark.parametrize("block_frames", [1, 7, 100, 143, 1000, 1001, 5000])
@pytest.mark.parametrize("overlap_frames", [0, 3, 250])
def test_blocks_join_to_whole_file(four_channel_file, block_frames, overlap_frames):
    whole = read_audio(four_channel_file).samples
    with BlockReader(
        four_channel_file, block_frames=block_frames, overlap_frames=overlap_frames
    ) as reader:
        blocks = list(reader)
        assert len(blocks) == reader.n_blocks == len(reader) == -(-1001 // block_frames)
    np.testing.assert_array_equal(_join(blocks), whole)
    for index, block in enumerate(blocks):
        assert block.samples.dtype == np.float32 and block.sample_rate == SR
        assert block.new_start_frame == index * block_frames
        assert block.overlap_frames == min(overlap_frames, index * block_frames)
        assert block.start_frame == block.new_start_frame - block.overlap_frames
        assert block.start_s == pytest.approx(block.start_frame / SR)
        # Every block, look-back included, is exactly the file at its absolute frames.
        np.testing.assert_array_equal(block.samples, whole[:, block.start_frame : block.end_frame])
    assert all(block.new_samples.shape[1] == block_frames for block in blocks[:-1])


@pytest.mark.parametrize(
    ("channels", "start_frame", "end_frame"),
    [(None, 0, None), ([2, 0], 13, None), (3, 0, 500), ([1, 2, 3], 999, 1001), (None, 10, 5000)],
)
def test_channels_and_frame_range(four_channel_file, channels, start_frame, end_frame):
    expected = read_audio(four_channel_file, channels=channels, start_frame=start_frame)
    stop = None if end_frame is None else end_frame - start_frame
    expected = expected.samples[:, :stop]
    blocks = list(
        iter_blocks(
            four_channel_file,
            block_frames=64,
            overlap_frames=10,
            channels=channels,
            start_frame=start_frame,
            end_frame=end_frame,
        )
    )
    np.testing.assert_array_equal(_join(blocks), expected)
    assert blocks[0].start_frame == start_frame and blocks[0].overlap_frames == 0
    assert all(block.start_frame >= start_frame for block in blocks)


def test_reader_restarts_and_closes(four_channel_file):
    reader = BlockReader(four_channel_file, block_frames=300, start_frame=1)
    assert (reader.n_channels, reader.n_frames, reader.n_blocks) == (4, 1000, 4)
    first = [block.samples for block in reader]
    second = [block.samples for block in reader]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)
    reader.close()
    assert reader.closed
    with pytest.raises(ValueError, match="closed"):
        list(reader)


def test_iter_blocks_closes_file_when_abandoned(four_channel_file):
    blocks = iter_blocks(four_channel_file, block_frames=10)
    next(blocks)
    blocks.close()  # generator exit runs the reader's context manager


def test_memory_is_bounded_by_block(tmp_path, monkeypatch):
    # A file of 200k frames read in blocks of 1000: no single read may ask for more.
    path = write_audio(tmp_path / "long.flac", np.zeros((2, 200_000)), SR, subtype="PCM_16")
    requested: list[int] = []
    original = sf.SoundFile.read

    def spy(self, frames=-1, *args, **kwargs):
        requested.append(frames)
        return original(self, frames, *args, **kwargs)

    monkeypatch.setattr(sf.SoundFile, "read", spy)
    n_frames = sum(b.new_samples.shape[1] for b in iter_blocks(path, block_frames=1000))
    assert n_frames == 200_000
    assert max(requested) == 1000 and min(requested) > 0


@pytest.mark.parametrize(
    ("kwargs", "error", "problem"),
    [
        ({"block_frames": 0}, ValueError, "block_frames must be positive"),
        ({"block_frames": 10, "overlap_frames": -1}, ValueError, "overlap_frames"),
        ({"block_frames": 10, "channels": [4]}, AudioFileError, "channel index 4 out of range"),
        ({"block_frames": 10, "start_frame": 1001}, AudioFileError, "beyond the end"),
        ({"block_frames": 10, "start_frame": 5, "end_frame": 5}, AudioFileError, "end_frame"),
    ],
)
def test_bad_arguments(four_channel_file, kwargs, error, problem):
    with pytest.raises(error, match=problem):
        BlockReader(four_channel_file, **kwargs)


def test_bad_file_and_non_finite_block(tmp_path):
    with pytest.raises(AudioFileError, match=r"none\.wav: file does not exist"):
        BlockReader(tmp_path / "none.wav", block_frames=10)
    data = np.zeros((100, 1), np.float32)
    data[55] = np.nan
    sf.write(tmp_path / "nan.wav", data, SR, subtype="FLOAT")
    blocks = iter_blocks(tmp_path / "nan.wav", block_frames=50)
    assert next(blocks).start_frame == 0
    with pytest.raises(AudioFileError, match=r"nan\.wav: holds NaN.*frame 55"):
        next(blocks)
