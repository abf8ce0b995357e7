"""Streaming: chunked codes bit-identical to whole-file codes; streaming decode == offline."""

from __future__ import annotations

import pytest
import torch

from dolphin.codec import Codec

from .conftest import make_chirp, make_noise


def encode_in_chunks(codec: Codec, audio: torch.Tensor, sizes: list[int], n_q=None) -> torch.Tensor:
    parts = []
    with codec.streaming(n_q=n_q):
        start = 0
        for size in sizes:
            parts.append(codec.encode_chunk(audio[..., start : start + size]))
            start += size
        assert start >= audio.shape[-1]
        parts.append(codec.flush_encoder())
    return torch.cat(parts, dim=-1)


def chunk_sizes(n: int, size: int) -> list[int]:
    return [size] * (-(-n // size))


@pytest.mark.parametrize("size", [37, 479, 480, 3 * 480 + 5, 4000])
def test_chunked_codes_identical_to_whole_file(codec: Codec, size: int) -> None:
    audio = make_chirp() + make_noise(n_samples=14400)
    whole = codec.encode(audio)
    chunked = encode_in_chunks(codec, audio, chunk_sizes(audio.shape[-1], size))
    assert torch.equal(chunked, whole)


def test_one_sample_chunks_identical(codec: Codec) -> None:
    audio = make_noise(n_samples=2 * 480 + 17, seed=5)
    whole = codec.encode(audio)
    assert torch.equal(encode_in_chunks(codec, audio, [1] * audio.shape[-1]), whole)


def test_random_chunk_sizes_batch_and_fewer_codebooks(codec: Codec) -> None:
    gen = torch.Generator().manual_seed(7)
    audio = make_noise(n_samples=12345, batch=2, std=0.3)
    sizes = torch.randint(0, 1500, (60,), generator=gen).tolist()
    for n_q in (None, 2):
        whole = codec.encode(audio, n_q=n_q)
        assert torch.equal(encode_in_chunks(codec, audio, sizes, n_q=n_q), whole)


def test_frame_count_and_flush(codec: Codec) -> None:
    audio = make_noise(n_samples=1000)
    state = codec.new_stream()
    first = codec.encode_chunk(audio, state=state)
    assert first.shape == (1, 4, 2)  # two whole hops of 480
    last = codec.flush_encoder(state=state)
    assert last.shape == (1, 4, 1)  # the padded remainder: ceil(1000 / 480) = 3 frames
    assert codec.flush_encoder(state=state).shape == (1, 4, 0)  # flushed streams restart


def test_streaming_decode_equals_offline(codec: Codec) -> None:
    codes = codec.encode(make_chirp())
    offline = codec.decode(codes)
    for size in (1, 2, 7, 30):
        state = codec.new_stream()
        parts = [
            codec.decode_chunk(codes[..., i : i + size], state=state) for i in range(0, 30, size)
        ]
        streamed = torch.cat([*parts, codec.flush_decoder(state=state)], dim=-1)
        assert streamed.shape == offline.shape
        assert torch.allclose(streamed, offline, atol=1e-5)


def test_streaming_round_trip_in_context(codec: Codec) -> None:
    audio = make_chirp()
    out = []
    with codec.streaming() as state:
        for start in range(0, audio.shape[-1], 960):
            out.append(codec.decode_chunk(codec.encode_chunk(audio[..., start : start + 960])))
        out.append(codec.decode_chunk(codec.flush_encoder()))
        out.append(codec.flush_decoder())
        assert state.encoder.n_samples == 0  # reset by the flush
    streamed = torch.cat(out, dim=-1)
    offline = codec.decode(codec.encode(audio))
    assert torch.allclose(streamed, offline, atol=1e-5)


def test_chunk_calls_need_a_stream(codec: Codec) -> None:
    with pytest.raises(RuntimeError, match="streaming"):
        codec.encode_chunk(make_chirp())


def test_batch_size_must_not_change(codec: Codec) -> None:
    state = codec.new_stream()
    codec.encode_chunk(make_noise(n_samples=100), state=state)
    with pytest.raises(ValueError, match="batch size"):
        codec.encode_chunk(make_noise(n_samples=100, batch=2), state=state)


def test_default_96khz_codec_chunked_and_thread_invariant() -> None:
    from dolphin.codec import CodecConfig

    torch.manual_seed(0)
    codec = Codec(CodecConfig()).eval()
    audio = make_noise(n_samples=24000, std=0.2) + make_chirp(sample_rate=96000, duration_s=0.25)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = codec.encode(audio)
        torch.set_num_threads(2)
        two = codec.encode(audio)
    finally:
        torch.set_num_threads(threads)
    assert one.shape == (1, 8, 25)
    assert torch.equal(one, two)  # exact arithmetic: the thread count does not matter either
    chunked = encode_in_chunks(codec, audio, chunk_sizes(audio.shape[-1], 1013))
    assert torch.equal(chunked, one)
