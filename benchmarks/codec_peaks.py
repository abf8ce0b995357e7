"""Benchmark: does a codec checkpoint keep whistle peaks? Seconds per checkpoint, for long runs.

Encodes and decodes held-out whistle-only crops (:func:`dolphin.train.codec_data.validation_batch`
with ``whistle_share=1``, every crop over a whistle at 20-40 dB) and, on frames where the input's
strongest bin above 2 kHz stands 15 dB over the frame's median, compares the peak of

* the decoder's own spectrum (what the training losses see), and
* the decoded audio analysed again in the same framing (what a listener or tracker gets):

median peak error (Hz), share of frames within 300 Hz, level at the true peak (dB, decoded /
input) and peak-to-median contrast (dB, the input's for comparison). ``benchmarks/codec.py`` is
the full benchmark (contours, clicks, Opus); this one follows a run between its evaluations.

    python benchmarks/codec_peaks.py CHECKPOINT_DIR [CHECKPOINT_DIR ...] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from dolphin.codec import Codec
from dolphin.train.codec_data import CodecDataConfig, validation_batch

DATA = CodecDataConfig(
    crop_s=0.5, whistle_share=1.0, event_bias=1.0, whistle_snr_db_min=20, whistle_snr_db_max=40
)


def _db(x: torch.Tensor) -> torch.Tensor:
    return 20 * torch.log10(x)


@torch.no_grad()
def score(codec: Codec, n_crops: int = 12) -> dict[str, dict[str, float]]:
    """Peak scores of ``codec`` on ``n_crops`` whistle crops (module docstring)."""
    x = validation_batch(DATA, sample_rate=codec.sample_rate, n_crops=n_crops)
    out = codec(x, n_q=codec.n_q)
    again = codec(out.audio, n_q=codec.n_q).target_spectrum
    n = min(out.spectrum.shape[1], again.shape[1])
    true = out.target_spectrum.abs()[:, :n]
    bin_hz = codec.sample_rate / (2 * (true.shape[-1] - 1))
    lo = int(2000 / bin_hz)
    peak = true[..., lo:].argmax(-1) + lo
    peak_level = true.gather(-1, peak[..., None])[..., 0]
    median = true[..., lo:].median(-1).values
    tonal = peak_level > 10 ** (15 / 20) * median
    result = {}
    for name, spec in (("decoder", out.spectrum[:, :n]), ("audio", again[:, :n])):
        mag = spec.abs()
        error = (mag[..., lo:].argmax(-1) + lo - peak).abs()[tonal].float() * bin_hz
        at_peak = mag.gather(-1, peak[..., None])[..., 0]
        result[name] = {
            "frames": int(tonal.sum()),
            "peak_error_hz": float(error.median()),
            "within_300_hz": float((error <= 300).float().mean()),
            "level_db": float(_db(at_peak / peak_level)[tonal].median()),
            "contrast_db": float(_db(at_peak / mag[..., lo:].median(-1).values)[tonal].median()),
            "input_contrast_db": float(_db(peak_level / median)[tonal].median()),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", nargs="+", help="saved codec folders")
    parser.add_argument("--out", default="benchmarks/results/codec_peaks.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    results = {}
    print(f"{'checkpoint':<40} {'path':<8} {'err Hz':>7} {'<=300Hz':>8} {'level':>6} {'contr.':>6}")
    for path in args.checkpoints:
        results[path] = score(Codec.load(path).eval())
        for name, r in results[path].items():
            print(
                f"{path[-40:]:<40} {name:<8} {r['peak_error_hz']:>7.0f} "
                f"{r['within_300_hz']:>8.2f} {r['level_db']:>6.1f} {r['contrast_db']:>6.1f}"
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(
        json.dumps({"benchmark": "codec_peaks", "results": results}, indent=1)
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
