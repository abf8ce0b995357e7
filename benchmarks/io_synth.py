"""Benchmark: streaming read throughput, flat memory for long files, and synthesis speed.

Writes a one-hour 96 kHz 24-bit file block by block, then reads it (and a one-minute file) with
:class:`dolphin.audio.stream.BlockReader` in fresh subprocesses, reporting throughput as a multiple
of real time, the process's peak resident memory (which must not grow with file length: the
long/short ratio stays about 1) and the peak of allocations made while reading. Finally it times
:func:`dolphin.synth.scene.make_scene` for one minute of 96 kHz audio.

    python benchmarks/io_synth.py [--hours 1] [--workdir /tmp] [--out benchmarks/results/io_synth.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

SAMPLE_RATE = 96000
BLOCK_S = 10.0


def make_long_file(path: Path, *, duration_s: float, seed: int = 0) -> None:
    """Write ``duration_s`` seconds of 24-bit noise with a tone, 10 s at a time."""
    from dolphin.audio.writer import AudioWriter

    rng = np.random.default_rng(seed)
    block = int(BLOCK_S * SAMPLE_RATE)
    t = np.arange(block) / SAMPLE_RATE
    tone = 0.1 * np.sin(2 * np.pi * 12000 * t)
    with AudioWriter(path, sample_rate=SAMPLE_RATE, n_channels=1, subtype="PCM_24") as writer:
        remaining = int(duration_s * SAMPLE_RATE)
        while remaining > 0:
            n = min(block, remaining)
            writer.write((0.05 * rng.standard_normal(n) + tone[:n]).astype(np.float32)[None])
            remaining -= n


def read_once(path: str) -> dict:
    """Stream ``path`` once (run in a fresh process); returns seconds, frames and peak memory.

    Two memory figures: the process's peak resident set (imports included, so it shows whether
    anything grows with file length) and the peak of Python/numpy allocations made while
    reading (tracemalloc), which is what the block size sets.
    """
    from dolphin.audio.stream import BlockReader

    tracemalloc.start()
    start = time.perf_counter()
    frames = 0
    energy = 0.0
    with BlockReader(path, block_frames=int(BLOCK_S * SAMPLE_RATE)) as reader:
        for block in reader:
            frames += block.samples.shape[1]
            energy += float(np.dot(block.samples[0], block.samples[0]))
    seconds = time.perf_counter() - start
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "frames": frames,
        "peak_rss_mb": peak_kb / 1024,
        "traced_peak_mb": traced_peak / 2**20,
    }


def read_in_subprocess(path: Path) -> dict:
    """Run :func:`read_once` in a new interpreter so peak memory is measured per file."""
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys; sys.path.insert(0, {here!r}); import io_synth; "
        f"print(json.dumps(io_synth.read_once({str(path)!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def time_synthesis(*, duration_s: float, repeats: int) -> list[float]:
    """Seconds taken by ``make_scene`` for ``duration_s`` of default 96 kHz audio, per repeat."""
    from dolphin.synth.scene import SceneConfig, make_scene

    times = []
    for seed in range(repeats):
        config = SceneConfig(sample_rate=SAMPLE_RATE, duration_s=duration_s, seed=seed)
        start = time.perf_counter()
        make_scene(config)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=1.0, help="length of the long file")
    parser.add_argument("--repeats", type=int, default=3, help="repeats per measurement")
    parser.add_argument("--workdir", default=None, help="where the test files go (deleted after)")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "io_synth.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        long_path, short_path = Path(tmp) / "long.wav", Path(tmp) / "short.wav"
        long_s = args.hours * 3600
        start = time.perf_counter()
        make_long_file(long_path, duration_s=long_s)
        write_s = time.perf_counter() - start
        make_long_file(short_path, duration_s=60.0)
        file_format = "RF64" if long_path.stat().st_size >= 2**32 else "WAV"
        reads = {"1 min": [], f"{args.hours:g} h": []}
        for _ in range(args.repeats):
            reads["1 min"].append(read_in_subprocess(short_path))
            reads[f"{args.hours:g} h"].append(read_in_subprocess(long_path))
        sizes = {"1 min": short_path.stat().st_size, f"{args.hours:g} h": long_path.stat().st_size}

    rows = []
    for name, runs in reads.items():
        duration = runs[0]["frames"] / SAMPLE_RATE
        rows.append(
            {
                "file": name,
                "bytes": sizes[name],
                "x_realtime_median": statistics.median(duration / r["seconds"] for r in runs),
                "peak_rss_mb_median": statistics.median(r["peak_rss_mb"] for r in runs),
                "traced_peak_mb_median": statistics.median(r["traced_peak_mb"] for r in runs),
            }
        )
    synth_times = time_synthesis(duration_s=60.0, repeats=args.repeats)
    synth_x = statistics.median(60.0 / s for s in synth_times)
    memory_ratio = rows[1]["peak_rss_mb_median"] / rows[0]["peak_rss_mb_median"]

    print(f"streaming read, 96 kHz 24-bit mono, {BLOCK_S:g} s blocks, warm page cache")
    print(f"{'file':<8}{'size MB':>10}{'x real time':>14}{'peak RSS MB':>14}{'read allocs MB':>16}")
    for row in rows:
        print(
            f"{row['file']:<8}{row['bytes'] / 1e6:>10.1f}{row['x_realtime_median']:>14.0f}"
            f"{row['peak_rss_mb_median']:>14.1f}{row['traced_peak_mb_median']:>16.1f}"
        )
    print(f"peak RSS ratio long/short: {memory_ratio:.3f} (flat = about 1)")
    print(f"writing the long file: {long_s / write_s:.0f}x real time")
    print(f"synthesis (make_scene, 60 s at 96 kHz): median {synth_x:.1f}x real time")

    result = {
        "benchmark": "io_synth",
        "machine": {"python": platform.python_version(), "cpu_count": __import__("os").cpu_count()},
        "sample_rate": SAMPLE_RATE,
        "long_file_format": file_format,
        "reads": rows,
        "peak_rss_ratio_long_over_short": memory_ratio,
        "write_x_realtime": long_s / write_s,
        "synthesis_x_realtime_median": synth_x,
        "synthesis_seconds": synth_times,
        "repeats": args.repeats,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
