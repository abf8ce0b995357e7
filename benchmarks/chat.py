"""Benchmark: CHAT mimic recognition (recall, precision, false alarms, latency, CPU) vs a baseline.

A 6-entry vocabulary is designed against half of the shipped SIGWI contours (even positions);
the other half is held out as natural whistles, so false alarms on them are not in-sample. Then:

* mimic scenes, one per SNR (0, 5, 10, 20 dB): per entry, imitations (:func:`imitate`: 5-20 %
  transposed, +-15 % stretched, unevenly warped, pitch wobble and jitter), partial imitations
  (70-90 % of it), a burst-pulse and a click-train rendition, in shuffled order and ocean noise,
  fed to the streaming :class:`MimicMatcher` in 20 ms blocks. A truth sound is recalled when an
  accepted detection with its label overlaps it; precision counts accepted detections that hit
  a truth sound of their label;
* false alarms per hour on noise-only audio (ocean noise and snapping shrimp) and on natural
  sounds (held-out SIGWI whistles, the look-alikes closest to the vocabulary first, plus natural
  click trains, burst pulses and buzzes) at 20 dB;
* latency from the end of a whistle to its decision (stream time; truth end and detected end);
* CPU load: process CPU seconds per audio second on one core (numba and BLAS on one thread), in
  20 ms blocks at 96 and 192 kHz;
* a plain template matcher side by side: the peak-frequency contour of each loud segment (per
  STFT frame: strongest bin of 2-30 kHz, >= 12 dB over the bin's median level), plain DTW in
  semitones without shift tolerance (no mean removal, no free stretch), same 1-semitone
  threshold. It sees whistles only.

Targets: recall >= 0.95 at >= 10 dB with <= 1 false alarm per hour; p95 latency <= 100 ms;
<= 30 % of one core at 96 kHz.

    python benchmarks/chat.py [--per-label 6] [--noise-min 10] [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.signal  # noqa: E402

from dolphin.annotations import Contour  # noqa: E402
from dolphin.chat.matcher import MatcherConfig, MimicMatcher  # noqa: E402
from dolphin.chat.mimics import (  # noqa: E402
    SceneSound,
    imitate,
    make_scene,
    natural_whistles,
    pulsed_rendition,
    whistle_sound,
)
from dolphin.chat.vocab import VocabConfig, design_vocabulary  # noqa: E402
from dolphin.detect.dtw import DTWConfig, cross_dtw  # noqa: E402
from dolphin.synth.background import ocean_noise, snapping_shrimp  # noqa: E402
from dolphin.synth.sigwi import load_sigwi_contours  # noqa: E402
from dolphin.synth.sounds import render_burst_pulse, render_buzz, render_click_train  # noqa: E402

LABELS = ("scarf", "rope", "sargassum", "bow", "ball", "seaweed")
THRESHOLDS = (0.6, 0.7, 0.8, 0.9, 1.0, 1.2)
TARGETS = {"recall_10db": 0.95, "fa_per_hour": 1.0, "latency_p95_ms": 100.0, "cpu_96k": 0.30}


# --- baseline -------------------------------------------------------------------------------------


class TemplateMatcher:
    """Peak-frequency contours of loud segments, plain DTW against the entries (offline)."""

    def __init__(self, vocab, sample_rate: int, *, threshold: float = 1.0) -> None:
        self.vocab, self.sr, self.threshold = vocab, sample_rate, threshold
        self.dtw = DTWConfig(normalise_shift=False, free_stretch=0.0, band=0.1)
        self.n_fft, self.hop = int(0.008 * sample_rate), int(0.0025 * sample_rate)

    def detect(self, x: np.ndarray) -> list[dict]:
        f, t, z = scipy.signal.stft(
            x, fs=self.sr, nperseg=self.n_fft, noverlap=self.n_fft - self.hop, boundary=None
        )
        band = (f >= 2000) & (f <= 30000)
        db = 10 * np.log10(np.abs(z[band]) ** 2 + 1e-20)
        snr = db - np.median(db, axis=1, keepdims=True)
        peak = np.argmax(snr, axis=0)
        loud = snr[peak, np.arange(snr.shape[1])] >= 12.0
        freqs = f[band][peak]
        out, k, n = [], 0, loud.size
        gap = int(round(0.03 / (self.hop / self.sr)))
        while k < n:
            if not loud[k]:
                k += 1
                continue
            j, last = k, k
            while j < n and j - last <= gap:
                if loud[j]:
                    last = j
                j += 1
            idx = np.flatnonzero(loud[k : last + 1]) + k
            if t[last] - t[k] >= 0.2 and idx.size >= 4:
                out.append(self._judge(Contour(t[idx], freqs[idx])))
            k = last + 1
        return out

    def _judge(self, contour: Contour) -> dict:
        d = cross_dtw([contour], [e.contour for e in self.vocab.entries], config=self.dtw)[0]
        k = int(np.argmin(d))
        ok = d[k] <= self.threshold
        return dict(
            label=self.vocab.entries[k].label if ok else None,
            accepted=bool(ok),
            start_s=float(contour.times_s[0]),
            end_s=float(contour.times_s[-1]),
            kind="whistle",
        )


# --- running and scoring --------------------------------------------------------------------------


def run_matcher(matcher: MimicMatcher, x: np.ndarray, block_s: float) -> tuple[list, float]:
    """Stream ``x`` through the matcher; return detections and the CPU seconds used."""
    blk = max(1, int(round(block_s * matcher.sample_rate)))
    out = []
    cpu = time.process_time()
    with matcher.streaming():
        for i in range(0, x.size, blk):
            out += matcher.process(x[i : i + blk])
        out += matcher.flush()
    return out, time.process_time() - cpu


def as_dict(d) -> dict:
    return (
        d
        if isinstance(d, dict)
        else dict(
            label=d.label,
            accepted=d.accepted,
            start_s=d.start_s,
            end_s=d.end_s,
            kind=d.kind,
            detected_at_s=d.detected_at_s,
        )
    )


def relabel(found, threshold: float, cfg: MatcherConfig) -> list[dict]:
    """Decisions the matcher would have made with another whistle threshold."""
    out = []
    for d in found:
        limit = threshold if d.kind == "whistle" else cfg.pulse_threshold
        ok = d.distance <= limit and d.margin >= cfg.min_margin
        out.append(as_dict(d) | dict(accepted=ok, label=d.nearest_label if ok else None))
    return out


def score(truth, detections) -> dict:
    """Recall per kind, precision, wrong labels, and latencies of whistle hits."""
    acc = [as_dict(d) for d in detections if as_dict(d)["accepted"]]
    used = set()
    hits = {"whistle": [0, 0], "partial": [0, 0], "burst_pulse": [0, 0], "click_train": [0, 0]}
    latency_truth, latency_det = [], []
    for tr in truth:
        key = "partial" if tr.note == "partial" else tr.kind
        hits[key][1] += 1
        match = [
            k
            for k, d in enumerate(acc)
            if d["label"] == tr.label and d["start_s"] <= tr.end_s and d["end_s"] >= tr.start_s
        ]
        used.update(match)
        if match:
            hits[key][0] += 1
            first = acc[match[0]]
            if tr.kind == "whistle" and "detected_at_s" in first:
                latency_truth.append(first["detected_at_s"] - tr.end_s)
                latency_det.append(first["detected_at_s"] - first["end_s"])
    n_truth = sum(v[1] for v in hits.values())
    n_hit = sum(v[0] for v in hits.values())
    return dict(
        recall=n_hit / max(n_truth, 1),
        recall_by_kind={k: v[0] / v[1] for k, v in hits.items() if v[1]},
        precision=len(used) / len(acc) if acc else 1.0,
        n_truth=n_truth,
        n_accepted=len(acc),
        n_false=len(acc) - len(used),
        latency_truth_s=latency_truth,
        latency_detected_s=latency_det,
    )


def mimic_sounds(vocab, args, rng, sr: int) -> list[SceneSound]:
    sounds = []
    for e in vocab.entries:
        for _ in range(args.per_label):
            sounds.append(
                whistle_sound(imitate(e.contour, rng=rng), sample_rate=sr, rng=rng, label=e.label)
            )
        for _ in range(args.partial_per_label):
            c = imitate(e.contour, rng=rng, partial=(0.7, 0.9))
            sounds.append(whistle_sound(c, sample_rate=sr, rng=rng, label=e.label, note="partial"))
        for kind in ("burst_pulse", "click_train"):
            for _ in range(args.pulsed_per_label):
                c = imitate(e.contour, rng=rng, shift=(0.0, 0.0))
                x, pt, band = pulsed_rendition(c, kind=kind, sample_rate=sr, rng=rng)
                sounds.append(SceneSound(x, band, kind, e.label, pt))
    return [sounds[k] for k in rng.permutation(len(sounds))]


def natural_sounds(vocab, args, rng, sr: int, exclude_ids) -> list[SceneSound]:
    sounds = [
        whistle_sound(c, sample_rate=sr, rng=rng, note=note)
        for c, note in natural_whistles(
            args.natural,
            rng=rng,
            vocab=vocab,
            n_lookalikes=args.lookalikes,
            exclude_ids=exclude_ids,
        )
    ]
    for k in range(args.natural_pulsed):
        render = (render_click_train, render_burst_pulse, render_buzz)[k % 3]
        dur = dict(duration_s=float(rng.uniform(0.5, 2.0))) if k % 3 == 0 else {}
        p = render(sample_rate=sr, rng=rng, centre_hz=min(0.37 * sr, 60e3), **dur)
        label = ("click_train", "burst_pulse", "burst_pulse")[k % 3]
        sounds.append(
            SceneSound(
                p.samples,
                (p.click.low_hz, p.click.high_hz),
                label,
                None,
                p.pulse_times_s,
                note="natural pulsed",
            )
        )
    return [sounds[k] for k in rng.permutation(len(sounds))]


def noise_only(matcher, baseline, minutes: float, rng, sr: int) -> tuple[dict, list]:
    """False alarms on ocean noise plus snapping shrimp, fed in 60 s pieces (one stream)."""
    acc_b, total, found = 0, 0.0, []
    with matcher.streaming():
        for _ in range(int(np.ceil(minutes))):
            n = 60 * sr
            x = ocean_noise(n_samples=n, sample_rate=sr, rng=rng, rms=0.01)
            x = x + snapping_shrimp(n_samples=n, sample_rate=sr, rng=rng, amplitude=0.05)
            blk = int(0.5 * sr)
            for i in range(0, n, blk):
                found += matcher.process(x[i : i + blk])
            acc_b += sum(d["accepted"] for d in baseline.detect(x))
            total += n / sr
        found += matcher.flush()
    acc_m = sum(d.accepted for d in found)
    hours = total / 3600
    return dict(
        hours=hours,
        fa_matcher=acc_m,
        fa_baseline=acc_b,
        fa_per_hour_matcher=acc_m / hours,
        fa_per_hour_baseline=acc_b / hours,
    ), found


def cpu_load(vocab, sr: int, seconds: float, rng) -> float:
    """CPU seconds per audio second of the streaming matcher in 20 ms blocks."""
    sounds = [
        whistle_sound(imitate(e.contour, rng=rng), sample_rate=sr, rng=rng, label=e.label)
        for e in vocab.entries
    ]
    x = make_scene(sounds, sample_rate=sr, rng=rng, snr_db=10.0).samples
    x = np.tile(x, int(np.ceil(seconds * sr / x.size)))[: int(seconds * sr)]
    matcher = MimicMatcher(vocab, MatcherConfig(), sample_rate=sr)
    run_matcher(matcher, x[:sr], 0.02)  # warm up numba and caches
    _, cpu = run_matcher(matcher, x, 0.02)
    return cpu / seconds


def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample-rate", type=int, default=96000)
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    parser.add_argument("--per-label", type=int, default=6, help="full whistle imitations")
    parser.add_argument("--partial-per-label", type=int, default=2)
    parser.add_argument("--pulsed-per-label", type=int, default=2, help="per pulsed kind")
    parser.add_argument("--natural", type=int, default=80, help="held-out SIGWI whistles")
    parser.add_argument("--lookalikes", type=int, default=20, help="... the closest ones first")
    parser.add_argument("--natural-pulsed", type=int, default=15)
    parser.add_argument("--noise-min", type=float, default=10.0, help="minutes of noise only")
    parser.add_argument("--cpu-s", type=float, default=20.0, help="audio seconds timed")
    parser.add_argument("--candidates", type=int, default=300, help="vocabulary candidates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a small run for a smoke test")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/chat.json"))
    args = parser.parse_args()
    if args.quick:
        args.snrs, args.per_label, args.partial_per_label = [10.0], 2, 1
        args.natural, args.lookalikes, args.natural_pulsed = 20, 5, 3
        args.noise_min, args.cpu_s, args.candidates = 1.0, 5.0, 80
    sr, rng = args.sample_rate, np.random.default_rng(args.seed)
    t_start, cpu_start = time.time(), time.process_time()

    real = load_sigwi_contours()
    design_set = real[::2]  # the odd half is held out as natural whistles
    vocab = design_vocabulary(
        len(LABELS),
        LABELS,
        natural=[r.contour for r in design_set],
        config=VocabConfig(n_candidates=args.candidates),
        seed=args.seed,
    )
    print(
        f"vocabulary: min pairwise {vocab.report.min_pairwise_semitones:.2f} semitones, "
        f"min to design-half SIGWI {vocab.report.min_natural_semitones:.2f}"
    )
    cfg = MatcherConfig()
    matcher = MimicMatcher(vocab, cfg, sample_rate=sr)
    baseline = TemplateMatcher(vocab, sr)

    per_snr, sweep_scenes = {}, []
    latency_truth, latency_det = [], []
    pulse_latency = []
    for snr in args.snrs:
        scene = make_scene(mimic_sounds(vocab, args, rng, sr), sample_rate=sr, rng=rng, snr_db=snr)
        found, _ = run_matcher(matcher, scene.samples, 0.02)
        sweep_scenes.append((snr, scene.truth, found))
        m = score(scene.truth, found)
        b = score(scene.truth, baseline.detect(scene.samples))
        latency_truth += m.pop("latency_truth_s")
        latency_det += m.pop("latency_detected_s")
        pulse_latency += [d.latency_s for d in found if d.accepted and d.kind != "whistle"]
        b.pop("latency_truth_s"), b.pop("latency_detected_s")
        per_snr[snr] = dict(matcher=m, baseline=b, audio_s=scene.duration_s)
        print(
            f"SNR {snr:>4.0f} dB: matcher recall {m['recall']:.3f} precision "
            f"{m['precision']:.3f} {m['recall_by_kind']} | baseline recall {b['recall']:.3f}"
        )

    held_ids = {r.id for r in design_set}
    nat = make_scene(
        natural_sounds(vocab, args, rng, sr, held_ids), sample_rate=sr, rng=rng, snr_db=20.0
    )
    found, _ = run_matcher(matcher, nat.samples, 0.02)
    fa_nat = [d for d in found if d.accepted]
    fa_nat_b = [d for d in baseline.detect(nat.samples) if d["accepted"]]
    natural = dict(
        audio_s=nat.duration_s,
        n_sounds=len(nat.truth),
        fa_matcher=len(fa_nat),
        fa_baseline=len(fa_nat_b),
        fa_per_hour_matcher=len(fa_nat) / (nat.duration_s / 3600),
        fa_per_hour_baseline=len(fa_nat_b) / (nat.duration_s / 3600),
        false_alarms=[
            dict(
                kind=d.kind,
                label=d.label,
                distance=round(d.distance, 3),
                start_s=round(d.start_s, 2),
            )
            for d in fa_nat
        ],
    )
    print(
        f"natural sounds: {len(fa_nat)} false alarms in {nat.duration_s:.0f} s "
        f"({len(nat.truth)} sounds); baseline {len(fa_nat_b)}"
    )
    noise, noise_found = noise_only(matcher, baseline, args.noise_min, rng, sr)
    sweep = []
    for th in THRESHOLDS:
        row = dict(threshold=th)
        for snr, truth, det in sweep_scenes:
            row[f"recall_{snr:.0f}db"] = score(truth, relabel(det, th, cfg))["recall"]
        row["fa_natural"] = sum(d["accepted"] for d in relabel(found, th, cfg))
        row["fa_noise"] = sum(d["accepted"] for d in relabel(noise_found, th, cfg))
        sweep.append(row)
    print(f"noise only: {noise['fa_matcher']} false alarms in {noise['hours'] * 60:.0f} min")
    cpu = {str(rate): cpu_load(vocab, rate, args.cpu_s, rng) for rate in (96000, 192000)}

    results = dict(
        config=vars(args) | dict(out=str(args.out)),
        platform=platform.platform(),
        vocab=dict(
            labels=list(LABELS),
            min_pairwise_semitones=vocab.report.min_pairwise_semitones,
            min_natural_semitones=vocab.report.min_natural_semitones,
        ),
        per_snr={str(k): v for k, v in per_snr.items()},
        natural=natural,
        noise_only=noise,
        threshold_sweep=sweep,
        latency=dict(
            whistle_from_truth_end_p50_ms=1e3 * (pct(latency_truth, 50) or np.nan),
            whistle_from_truth_end_p95_ms=1e3 * (pct(latency_truth, 95) or np.nan),
            whistle_from_detected_end_p50_ms=1e3 * (pct(latency_det, 50) or np.nan),
            whistle_from_detected_end_p95_ms=1e3 * (pct(latency_det, 95) or np.nan),
            pulsed_p50_s=pct(pulse_latency, 50),
            pulsed_p95_s=pct(pulse_latency, 95),
        ),
        cpu_share_of_one_core=cpu,
        targets=TARGETS,
        wall_s=time.time() - t_start,
        cpu_s=time.process_time() - cpu_start,
    )
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1, default=float) + "\n")
    print(f"written to {args.out} ({results['wall_s']:.0f} s, {results['cpu_s']:.0f} s CPU)")


def print_table(r: dict) -> None:
    rows = [("metric", "matcher", "baseline", "target")]
    for snr, v in r["per_snr"].items():
        m, b = v["matcher"], v["baseline"]
        target = ">= 0.95" if float(snr) >= 10 else ""
        rows.append(
            (f"recall @ {float(snr):.0f} dB", f"{m['recall']:.3f}", f"{b['recall']:.3f}", target)
        )
        rows.append(
            (
                "  whistle / partial / burst / click",
                " / ".join(
                    f"{m['recall_by_kind'].get(k, float('nan')):.2f}"
                    for k in ("whistle", "partial", "burst_pulse", "click_train")
                ),
                "",
                "",
            )
        )
        rows.append(
            (
                f"precision @ {float(snr):.0f} dB",
                f"{m['precision']:.3f}",
                f"{b['precision']:.3f}",
                "",
            )
        )
    n, z = r["natural"], r["noise_only"]
    rows.append(
        (
            "false alarms/h, noise only",
            f"{z['fa_per_hour_matcher']:.1f}",
            f"{z['fa_per_hour_baseline']:.1f}",
            "<= 1",
        )
    )
    rows.append(
        (
            "false alarms/h, natural sounds",
            f"{n['fa_per_hour_matcher']:.1f}",
            f"{n['fa_per_hour_baseline']:.1f}",
            "<= 1",
        )
    )
    rows.append(
        (
            "false alarms / natural sound",
            f"{n['fa_matcher'] / n['n_sounds']:.3f}",
            f"{n['fa_baseline'] / n['n_sounds']:.3f}",
            "",
        )
    )
    lat = r["latency"]
    rows.append(
        (
            "whistle latency p50/p95, ms (truth end)",
            f"{lat['whistle_from_truth_end_p50_ms']:.0f}/"
            f"{lat['whistle_from_truth_end_p95_ms']:.0f}",
            "offline",
            "p95 <= 100",
        )
    )
    rows.append(
        (
            "whistle latency p50/p95, ms (detected end)",
            f"{lat['whistle_from_detected_end_p50_ms']:.0f}/"
            f"{lat['whistle_from_detected_end_p95_ms']:.0f}",
            "",
            "",
        )
    )
    if lat["pulsed_p50_s"] is not None:
        rows.append(
            (
                "pulsed latency p50/p95, s",
                f"{lat['pulsed_p50_s']:.2f}/{lat['pulsed_p95_s']:.2f}",
                "",
                "",
            )
        )
    for rate, share in r["cpu_share_of_one_core"].items():
        rows.append(
            (
                f"CPU share of one core @ {int(rate) // 1000} kHz",
                f"{share:.3f}",
                "",
                "<= 0.30" if rate == "96000" else "",
            )
        )
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print("\nwhistle threshold sweep (semitones; pulsed threshold fixed):")
    keys = list(r["threshold_sweep"][0])
    print("  ".join(f"{k:>12}" for k in keys))
    for row in r["threshold_sweep"]:
        print(
            "  ".join(
                f"{row[k]:>12.3f}" if isinstance(row[k], float) else f"{row[k]:>12}" for k in keys
            )
        )


if __name__ == "__main__":
    main()
