"""Block-wise reading of audio files far larger than memory.

A :class:`BlockReader` walks a file (or a frame range of it) in consecutive blocks of
``block_frames`` frames. Memory stays at one block plus the look-back, whatever the file length:
the file is read sequentially and never whole.

Overlap convention
------------------
The hop is ``block_frames``: block ``i`` brings the *new* frames
``[start + i * block_frames, start + (i + 1) * block_frames)`` (the last block may be shorter).
With ``overlap_frames > 0`` each block is additionally prefixed with up to ``overlap_frames``
frames of *look-back* that were already delivered by earlier blocks; ``Block.overlap_frames``
says how many (0 for the first block, never reaching before the reader's ``start_frame``).
``Block.start_frame`` is the absolute file index of ``samples[:, 0]``, look-back included, so
joining ``block.new_samples`` of all blocks gives exactly the samples of the range.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from dolphin.audio.io import (
    FLOAT_SUBTYPES,
    _channel_indices,
    _check_range,
    _check_samples_finite,
    _open_sound_file,
    _read_frames,
)
from dolphin.errors import AudioFileError


@dataclass
class Block:
    """One block of a file.

    Attributes
    ----------
    samples : np.ndarray, shape [C, N], float32
        Look-back frames followed by new frames.
    start_frame : int
        Absolute frame index in the file of ``samples[:, 0]``.
    sample_rate : int
        Frames per second, in Hz.
    overlap_frames : int
        Number of leading look-back frames, already part of the previous block(s).
    """

    samples: np.ndarray
    start_frame: int
    sample_rate: int
    overlap_frames: int = 0

    @property
    def n_frames(self) -> int:
        """Number of frames ``N``, look-back included."""
        return int(self.samples.shape[1])

    @property
    def start_s(self) -> float:
        """Time of ``samples[:, 0]`` in seconds from the start of the file."""
        return self.start_frame / self.sample_rate

    @property
    def end_frame(self) -> int:
        """Absolute frame index one past the last frame."""
        return self.start_frame + self.n_frames

    @property
    def new_start_frame(self) -> int:
        """Absolute frame index of the first new (non-look-back) frame."""
        return self.start_frame + self.overlap_frames

    @property
    def new_samples(self) -> np.ndarray:
        """The frames this block adds, ``[C, N - overlap_frames]`` (a view)."""
        return self.samples[:, self.overlap_frames :]


class BlockReader:
    """Iterate over an audio file in blocks, with optional look-back overlap.

    Parameters
    ----------
    path : str or Path
        Audio file (any format :func:`dolphin.audio.read_audio` reads).
    block_frames : int
        New frames per block (the hop); the last block may be shorter.
    overlap_frames : int
        Frames of look-back prefixed to every block but the first (see the module docstring).
    channels : int or sequence of int, optional
        0-based channel(s) to keep; all by default.
    start_frame : int
        First frame of the range to read.
    end_frame : int, optional
        One past the last frame of the range; the end of the file by default (and at most).
    check_finite : bool
        Refuse NaN or infinite samples in float files (checked block by block).

    Raises
    ------
    AudioFileError
        Bad file, channel out of range or ``start_frame`` beyond the end, at construction;
        NaN or infinite samples while iterating.

    Examples
    --------
    >>> with BlockReader("long.wav", block_frames=96000) as reader:  # doctest: +SKIP
    ...     for block in reader:
    ...         process(block.samples, block.start_s)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        block_frames: int,
        overlap_frames: int = 0,
        channels: int | Sequence[int] | None = None,
        start_frame: int = 0,
        end_frame: int | None = None,
        check_finite: bool = True,
    ) -> None:
        if block_frames <= 0:
            raise ValueError(f"block_frames must be positive, got {block_frames}")
        if overlap_frames < 0:
            raise ValueError(f"overlap_frames must be >= 0, got {overlap_frames}")
        self.path = Path(path)
        self.block_frames = int(block_frames)
        self.overlap_frames = int(overlap_frames)
        self.check_finite = check_finite
        self._file = _open_sound_file(self.path)
        try:
            self._channels = _channel_indices(self.path, channels, self._file.channels)
            if end_frame is not None and end_frame <= start_frame:
                raise AudioFileError(
                    self.path, f"end_frame {end_frame} must be after start_frame {start_frame}"
                )
            n_frames = None if end_frame is None else end_frame - start_frame
            count = _check_range(self.path, start_frame, n_frames, self._file.frames)
        except BaseException:
            self._file.close()
            raise
        self.start_frame = int(start_frame)
        self.end_frame = self.start_frame + count
        self.sample_rate = int(self._file.samplerate)
        self._is_float = self._file.subtype in FLOAT_SUBTYPES

    @property
    def n_channels(self) -> int:
        """Channels per block (after selection)."""
        return len(self._channels) if self._channels is not None else int(self._file.channels)

    @property
    def n_frames(self) -> int:
        """Frames in the range ``[start_frame, end_frame)``."""
        return self.end_frame - self.start_frame

    @property
    def n_blocks(self) -> int:
        """Number of blocks the iteration yields."""
        return -(-self.n_frames // self.block_frames)

    def __len__(self) -> int:
        return self.n_blocks

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has been called."""
        return self._file.closed

    def close(self) -> None:
        """Close the file; iterating afterwards raises ``ValueError``."""
        self._file.close()

    def __enter__(self) -> BlockReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[Block]:
        """Yield the blocks from ``start_frame``; each new iteration starts over."""
        if self.closed:
            raise ValueError(f"{self.path}: BlockReader is closed")
        self._file.seek(self.start_frame)
        lookback = np.zeros((self.n_channels, 0), dtype=np.float32)
        position = self.start_frame
        while position < self.end_frame:
            count = min(self.block_frames, self.end_frame - position)
            fresh = _read_frames(self._file, count, self._channels)
            if fresh.shape[1] != count:  # the header promised more frames than the file holds
                raise AudioFileError(
                    self.path, f"file ends early: got {fresh.shape[1]} of {count} frames"
                )
            if self.check_finite and self._is_float:
                _check_samples_finite(self.path, fresh, position)
            samples = np.concatenate([lookback, fresh], axis=1) if lookback.size else fresh
            yield Block(
                samples=samples,
                start_frame=position - lookback.shape[1],
                sample_rate=self.sample_rate,
                overlap_frames=lookback.shape[1],
            )
            if self.overlap_frames:
                # Copy so that the look-back does not keep the whole previous block alive.
                lookback = samples[:, -self.overlap_frames :].copy()
            position += count


def iter_blocks(
    path: str | Path,
    *,
    block_frames: int,
    overlap_frames: int = 0,
    channels: int | Sequence[int] | None = None,
    start_frame: int = 0,
    end_frame: int | None = None,
    check_finite: bool = True,
) -> Iterator[Block]:
    """Yield the blocks of a file, closing it when the iteration ends or is abandoned.

    Parameters are those of :class:`BlockReader`.

    Yields
    ------
    Block
        ``samples`` float32 ``[C, N]`` with absolute ``start_frame``.
    """
    with BlockReader(
        path,
        block_frames=block_frames,
        overlap_frames=overlap_frames,
        channels=channels,
        start_frame=start_frame,
        end_frame=end_frame,
        check_finite=check_finite,
    ) as reader:
        yield from reader
