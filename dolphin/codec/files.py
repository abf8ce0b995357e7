"""Audio files to token files and back, streaming with bounded memory.

:func:`encode_file` reads :class:`~dolphin.audio.stream.BlockReader` blocks, resamples them to
the codec rate when needed (:class:`~dolphin.audio.resampler.BlockResampler`, equal to
whole-file resampling) and runs the codec's streaming encoder, whose codes are bit-identical to
whole-file encoding. :func:`decode_file` streams codes through the streaming decoder into an
:class:`~dolphin.audio.writer.AudioWriter`. Both publish their output atomically.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dolphin.audio.resampler import BlockResampler
from dolphin.errors import AudioFileError

if TYPE_CHECKING:
    import torch

    from dolphin.codec.model import Codec
    from dolphin.codec.streaming import StreamingState

DECODE_STEP_FRAMES = 500  # frames per decode_chunk call (5 s at 100 frames/s): bounded memory
WAV_LIMIT_BYTES = 2**32 - 1024  # plain WAV stops at 4 GiB; longer outputs are written as RF64


def _tmp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def encode_file(
    codec: Codec,
    src: Path,
    dst: Path,
    *,
    n_q: int,
    channel: int = 0,
    block_s: float = 10.0,
    progress: bool = False,
    on_note: Callable[[str], None] | None = None,
) -> int:
    """Encode one audio file into a token file, streaming; returns the number of frames.

    Parameters
    ----------
    codec : Codec
        The codec (eval mode).
    src : Path
        Audio file at any rate (resampled to ``codec.sample_rate``), any number of channels.
    dst : Path
        Token file to write (atomically).
    n_q : int
        Codebooks to keep, ``1..codec.n_q``.
    channel : int
        0-based channel encoded.
    block_s : float
        Seconds of source audio read per block (memory stays about one block).
    progress : bool
        Show a progress bar over the blocks.
    on_note : callable, optional
        Receives notes for the user (e.g. that the input is resampled).
    """
    import torch
    from tqdm import tqdm

    from dolphin.audio.io import audio_info
    from dolphin.audio.stream import BlockReader
    from dolphin.codec.tokens import save_tokens

    info = audio_info(src)
    if not 0 <= channel < info.n_channels:
        raise AudioFileError(src, f"has {info.n_channels} channel(s); no channel {channel}")
    resampler = None
    if info.sample_rate != codec.sample_rate:
        if on_note:
            on_note(f"{src} is at {info.sample_rate} Hz; resampling to {codec.sample_rate} Hz")
        resampler = BlockResampler(info.sample_rate, codec.sample_rate)
    state = codec.new_stream(n_q=n_q)
    parts, n_samples = [], 0

    def push(x: np.ndarray) -> None:
        nonlocal n_samples
        if x.size:
            n_samples += x.size
            parts.append(codec.encode_chunk(torch.from_numpy(x)[None, None], state=state))

    block_frames = max(1, int(round(block_s * info.sample_rate)))
    with BlockReader(src, block_frames=block_frames, channels=[channel]) as reader:
        bar = tqdm(reader, disable=not progress or len(reader) < 2, leave=False, unit="block")
        for block in bar:
            x = block.samples[0]
            push(resampler.push(x) if resampler else x)
    if resampler:
        push(resampler.flush())
    parts.append(codec.flush_encoder(state=state))
    codes = torch.cat(parts, dim=-1)[0]
    extra = {"source": src.name, "channel": channel, "source_sample_rate": info.sample_rate}
    tmp = _tmp_beside(dst)
    save_tokens(
        tmp,
        codes,
        sample_rate=codec.sample_rate,
        hop_length=codec.hop_length,
        n_q=n_q,
        codec_hash=codec.identity_hash(),
        n_samples=n_samples,
        extra=extra,
    )
    os.replace(tmp, dst)
    return int(codes.shape[-1])


def _decoded_chunks(
    codec: Codec, codes: torch.Tensor, state: StreamingState
) -> Iterator[torch.Tensor]:
    """Audio ``[1, 1, n]`` of successive code chunks, then the overlap-add tail (lazily)."""
    for i in range(0, codes.shape[-1], DECODE_STEP_FRAMES):
        yield codec.decode_chunk(codes[..., i : i + DECODE_STEP_FRAMES], state=state)
    yield codec.flush_decoder(state=state)


def decode_file(
    codec: Codec,
    src: Path,
    dst: Path,
    *,
    subtype: str = "PCM_24",
    on_note: Callable[[str], None] | None = None,
) -> int:
    """Decode one token file into an audio file at the codec's rate; returns samples written.

    Samples beyond full scale are clipped for PCM subtypes (with a note); ``subtype="FLOAT"``
    keeps them.

    Raises
    ------
    TokenFileError
        The token file is unreadable or was made by another codec.
    """
    from dolphin.audio.writer import AudioWriter
    from dolphin.codec.tokens import check_compatible, load_tokens

    tokens = load_tokens(src)
    check_compatible(tokens, codec)
    n_bytes = tokens.n_samples * {"PCM_16": 2, "PCM_24": 3}.get(subtype, 4)
    fmt = "RF64" if dst.suffix.lower() == ".wav" and n_bytes > WAV_LIMIT_BYTES else None
    state = codec.new_stream()
    remaining, clipped = tokens.n_samples, 0
    with AudioWriter(
        dst, sample_rate=codec.sample_rate, n_channels=1, subtype=subtype, format=fmt, clip=True
    ) as writer:
        for audio in _decoded_chunks(codec, tokens.codes[None], state):
            block = audio[0, :, :remaining].numpy()
            if block.size:
                clipped += int(np.count_nonzero(np.abs(block) > 1.0))
                writer.write(block)
                remaining -= block.shape[-1]
    if clipped and subtype != "FLOAT" and on_note:
        on_note(
            f"{dst}: {clipped} sample(s) beyond full scale were clipped (--subtype FLOAT keeps)"
        )
    return tokens.n_samples - remaining
