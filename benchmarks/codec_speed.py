"""Benchmark: codec encode / decode speed as a multiple of real time on 1 and 2 CPU threads.

Builds the default 96 kHz codec (random weights: speed does not depend on training), prints its
size, bitrate and algorithmic latency, then times offline encode, decode and encode + decode of
10 s of audio (median of several runs, ``torch.inference_mode``) and the streaming path fed
20 ms chunks (``encode_chunk`` + ``decode_chunk``). It also checks that the streamed codes equal
the offline ones. Results go to ``benchmarks/results/codec_speed.json``.

    python benchmarks/codec_speed.py [--seconds 10] [--runs 5] [--threads 1 2] [--block-frames 8]
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time
from pathlib import Path

import torch

from dolphin.codec import Codec, CodecConfig


def make_audio(sample_rate: int, seconds: float) -> torch.Tensor:
    """Noise plus a 5-25 kHz sweep, ``[1, 1, T]``."""
    gen = torch.Generator().manual_seed(0)
    n = int(seconds * sample_rate)
    t = torch.arange(n, dtype=torch.float64) / sample_rate
    freq = 5000 + 20000 * (t % 1.0)
    sweep = 0.3 * torch.sin(2 * math.pi * torch.cumsum(freq, 0) / sample_rate)
    noise = 0.05 * torch.randn(n, generator=gen, dtype=torch.float64)
    return (sweep + noise).float()[None, None]


def median_time(fn, runs: int) -> float:
    """Median wall time of ``fn()`` in seconds over ``runs`` calls (after one warm-up)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def stream(codec: Codec, audio: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode and decode ``audio`` chunk by chunk; returns (codes, audio)."""
    state = codec.new_stream()
    codes, out = [], []
    for start in range(0, audio.shape[-1], chunk):
        c = codec.encode_chunk(audio[..., start : start + chunk], state=state)
        codes.append(c)
        out.append(codec.decode_chunk(c, state=state))
    last = codec.flush_encoder(state=state)
    codes.append(last)
    out += [codec.decode_chunk(last, state=state), codec.flush_decoder(state=state)]
    return torch.cat(codes, -1), torch.cat(out, -1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--chunk-ms", type=float, default=20.0)
    parser.add_argument("--block-frames", type=int, default=None, help="override the default")
    parser.add_argument("--out", default="benchmarks/results/codec_speed.json")
    args = parser.parse_args()

    overrides = {} if args.block_frames is None else {"block_frames": args.block_frames}
    torch.manual_seed(0)
    codec = Codec(CodecConfig(**overrides)).eval()
    cfg = codec.config
    audio = make_audio(cfg.sample_rate, args.seconds)
    chunk = int(round(args.chunk_ms / 1000 * cfg.sample_rate))
    result = {
        "config": cfg.to_dict(),
        "parameters": codec.num_parameters,
        "codebook_entries": cfg.n_codebooks * cfg.codebook_size * cfg.latent_dim,
        "bitrate_bps": codec.bitrate_bps,
        "algorithmic_latency_ms": 1000 * codec.algorithmic_latency_s,
        "audio_seconds": args.seconds,
        "chunk_ms": args.chunk_ms,
        "machine": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "processor": platform.processor() or platform.machine(),
        },
        "threads": {},
    }
    print(
        f"codec: {codec.num_parameters / 1e6:.2f} M parameters, {codec.bitrate_bps:.0f} bps, "
        f"{cfg.frame_rate:.0f} frames/s, latency {1000 * codec.algorithmic_latency_s:.1f} ms"
    )
    print(f"{'threads':>7} {'encode':>9} {'decode':>9} {'enc+dec':>9} {'stream':>9}  (x real time)")
    with torch.inference_mode():
        for n_threads in args.threads:
            torch.set_num_threads(n_threads)
            t_enc = median_time(lambda: codec.encode(audio), args.runs)
            codes = codec.encode(audio)
            t_dec = median_time(lambda c=codes: codec.decode(c), args.runs)
            t_both = median_time(lambda: codec.decode(codec.encode(audio)), args.runs)
            t_stream = median_time(lambda: stream(codec, audio, chunk), max(args.runs // 2, 1))
            s_codes, s_audio = stream(codec, audio, chunk)
            offline = codec.decode(codes)
            row = {
                "encode_x_realtime": args.seconds / t_enc,
                "decode_x_realtime": args.seconds / t_dec,
                "encode_decode_x_realtime": args.seconds / t_both,
                "streaming_x_realtime": args.seconds / t_stream,
                "streamed_codes_identical": bool(torch.equal(s_codes, codes)),
                "streamed_audio_max_abs_diff": float((s_audio - offline).abs().max()),
            }
            result["threads"][str(n_threads)] = row
            print(
                f"{n_threads:>7} {row['encode_x_realtime']:>9.1f} {row['decode_x_realtime']:>9.1f} "
                f"{row['encode_decode_x_realtime']:>9.1f} {row['streaming_x_realtime']:>9.1f}"
                f"   streamed codes identical: {row['streamed_codes_identical']}"
            )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
