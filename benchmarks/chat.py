"""Benchmark: CHAT mimic recognition (recall, precision, false alarms, latency, CPU) vs a baseline.

A 6-entry vocabulary is designed against the 1,500 shipped SIGWI natural references (which the
matcher also knows); the shipped 300-contour SIGWI subset, disjoint from them, is held out as
natural whistles, so false alarms on them are not in-sample. Then:

* mimic scenes, one per SNR (0, 5, 10, 20 dB): per entry, imitations (:func:`imitate`: 5-20 %
  transposed, +-15 % stretched, unevenly warped, pitch wobble and jitter), partial imitations
  (70-90 % of it), a burst-pulse and a click-train rendition, in shuffled order and ocean noise,
  fed to the streaming :class:`MimicMatcher` in 20 ms blocks. A truth sound is recalled when an
  accepted detection with its label overlaps it; precision counts accepted detections that hit
  a truth sound of their label;
* false alarms per hour of natural-whistle audio: every held-out SIGWI contour rendered
  ``--natural / 300`` times (the first time as is, then as :func:`natural_variant`s: another
  rendition by the same animal, up to 5 % transposed, +-10 % stretched), the look-alikes
  closest to the vocabulary among them, in scenes of 60 whistles at 10, 20 and 30 dB in turn;
  natural click trains, burst pulses and buzzes are counted apart;
* false alarms per hour on noise-only audio (ocean noise and snapping shrimp), streamed in 60 s
  pieces of one continuous stream (:func:`dolphin.chat.noise.noise_blocks`, bounded memory):
  ``--noise-hours`` (10 min by default; ``--noise-hours 3`` takes ~10 min of CPU at 96 kHz).
  With ``--parts noise`` only this runs and its result is stored under ``noise_only_long``,
  which later full runs keep;
* with ``--natural-source real``: natural whistles drawn from every usable contour of a local
  SIGWI checkout (``../shared/data/real/sigwi``, ~11,500; skipped when absent) but the 1,500
  references, each rendered once, stored under ``natural_real`` (kept by later full runs);
* latency from the end of a whistle to its decision (stream time; truth end and detected end);
* CPU load: process CPU seconds per audio second on one core (numba and BLAS on one thread), in
  20 ms blocks at 96 and 192 kHz;
* the plain template matcher (:class:`dolphin.chat.baseline.TemplateMatcher`) side by side,
  with a 1-semitone threshold. It sees whistles only;
* a sweep of the whistle threshold and of the margin to known natural whistles (the SIGWI
  references; ``None``: no such check) over the detections already made.

Targets: recall >= 0.95 at >= 10 dB with <= 1 false alarm per hour; p95 latency <= 100 ms;
<= 30 % of one core at 96 kHz.

    python benchmarks/chat.py [--per-label 6] [--natural 600] [--noise-hours 0.17] [--quick]
    python benchmarks/chat.py --parts noise --noise-hours 3
    python benchmarks/chat.py --parts natural --natural-source real --natural 6000
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from dolphin.chat.baseline import TemplateMatcher  # noqa: E402
from dolphin.chat.matcher import MatcherConfig, MimicMatcher  # noqa: E402
from dolphin.chat.mimics import (  # noqa: E402
    SceneSound,
    imitate,
    make_scene,
    natural_variant,
    natural_whistles,
    pulsed_rendition,
    whistle_sound,
)
from dolphin.chat.noise import noise_blocks  # noqa: E402
from dolphin.chat.vocab import VocabConfig, design_vocabulary  # noqa: E402
from dolphin.synth.sigwi import (  # noqa: E402
    load_sigwi_contours,
    load_sigwi_references,
    read_sigwi_checkout,
)
from dolphin.synth.sounds import render_burst_pulse, render_buzz, render_click_train  # noqa: E402

LABELS = ("scarf", "rope", "sargassum", "bow", "ball", "seaweed")
THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
NATURAL_MARGINS = (None, 0.0, 0.1, 0.2)  # None: no natural-whistle check
TARGETS = {"recall_10db": 0.95, "fa_per_hour": 1.0, "latency_p95_ms": 100.0, "cpu_96k": 0.30}
PARTS = ("mimic", "natural", "noise", "cpu")
SCENE_SOUNDS = 60  # natural whistles per scene (bounded memory)
SIGWI_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "sigwi"


# --- running and scoring --------------------------------------------------------------------------


def compact(d, note: str = "") -> dict:
    """What scoring needs of a detection (no contour: bounded memory over hours)."""
    return dict(
        label=d.label,
        accepted=bool(d.accepted),
        nearest_label=d.nearest_label,
        distance=float(d.distance),
        margin=float(d.margin),
        natural_distance=float(d.natural_distance),
        kind=d.kind,
        start_s=float(d.start_s),
        end_s=float(d.end_s),
        detected_at_s=float(d.detected_at_s),
        note=note,
    )


def run_matcher(matcher: MimicMatcher, x: np.ndarray, block_s: float) -> tuple[list, float]:
    """Stream ``x`` through the matcher; return compact detections and the CPU seconds used."""
    blk = max(1, int(round(block_s * matcher.sample_rate)))
    out = []
    cpu = time.process_time()
    with matcher.streaming():
        for i in range(0, x.size, blk):
            out += matcher.process(x[i : i + blk])
        out += matcher.flush()
    return [compact(d) for d in out], time.process_time() - cpu


def baseline_dicts(baseline: TemplateMatcher, x: np.ndarray) -> list[dict]:
    return [
        dict(label=d.label, accepted=d.accepted, start_s=d.start_s, end_s=d.end_s, kind=d.kind)
        for d in baseline.detect(x)
    ]


def relabel(
    found: list[dict], threshold: float, natural: float | None, cfg: MatcherConfig
) -> list[dict]:
    """Decisions the matcher would have made with another whistle threshold and natural margin."""
    out = []
    for d in found:
        whistle = d["kind"] == "whistle"
        limit = threshold if whistle else cfg.pulse_threshold
        ok = d["distance"] <= limit and d["margin"] >= cfg.min_margin
        if whistle and natural is not None:
            ok = ok and d["natural_distance"] - d["distance"] >= natural
        out.append(d | dict(accepted=ok, label=d["nearest_label"] if ok else None))
    return out


def score(truth, detections: list[dict]) -> dict:
    """Recall per kind, precision, wrong labels, and latencies of whistle hits."""
    acc = [d for d in detections if d["accepted"]]
    used = set()
    hits = {"whistle": [0, 0], "partial": [0, 0], "burst_pulse": [0, 0], "click_train": [0, 0]}
    latency_truth, latency_det, missed = [], [], []
    for tr in truth:
        key = "partial" if tr.note == "partial" else tr.kind
        hits[key][1] += 1
        match = [
            k
            for k, d in enumerate(acc)
            if d["label"] == tr.label and d["start_s"] <= tr.end_s and d["end_s"] >= tr.start_s
        ]
        used.update(match)
        if not match:
            near = [d for d in detections if d["start_s"] <= tr.end_s and d["end_s"] >= tr.start_s]
            best = min(near, key=lambda d: d.get("distance", np.inf), default=None)
            missed.append(
                dict(
                    kind=key,
                    label=tr.label,
                    start_s=round(tr.start_s, 3),
                    heard=None
                    if best is None
                    else {k: best.get(k) for k in ("kind", "nearest_label", "distance", "margin")},
                )
            )
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
        missed=missed,  # each missed sound and the closest judged sound overlapping it
        latency_truth_s=latency_truth,
        latency_detected_s=latency_det,
    )


def truth_note(truth, d: dict) -> str:
    """Note of the truth sound a detection overlaps most ("" for none)."""
    best, note = 0.0, ""
    for tr in truth:
        overlap = min(tr.end_s, d["end_s"]) - max(tr.start_s, d["start_s"])
        if overlap > best:
            best, note = overlap, tr.note
    return note


# --- scenes ---------------------------------------------------------------------------------------


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


def natural_contours(vocab, args, rng, held_out: int, exclude_ids) -> list:
    """``args.natural`` natural whistle contours: every held-out one, then variants of them."""
    pool = None
    if args.natural_source == "real":
        if not SIGWI_DIR.is_dir():
            raise SystemExit(f"--natural-source real: no SIGWI checkout at {SIGWI_DIR}; skipped")
        pool = read_sigwi_checkout(SIGWI_DIR)
        held_out = len(pool)
    base = natural_whistles(
        min(held_out, args.natural),
        rng=rng,
        vocab=vocab,
        n_lookalikes=args.lookalikes,
        exclude_ids=exclude_ids,
        pool=pool,
    )
    out = []
    for rep in range(int(np.ceil(args.natural / max(len(base), 1)))):
        for c, note in base:
            out.append((c, note) if rep == 0 else (natural_variant(c, rng=rng), f"{note} v{rep}"))
    out = out[: args.natural]
    return [out[k] for k in rng.permutation(len(out))]


def natural_pulsed_sounds(args, rng, sr: int) -> list[SceneSound]:
    sounds = []
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
    return sounds


def run_natural(matcher, baseline, vocab, args, rng, sr: int, held_out: int, exclude_ids):
    """False alarms on natural whistles (scenes of ``SCENE_SOUNDS``) and natural pulsed sounds."""
    contours = natural_contours(vocab, args, rng, held_out, exclude_ids)
    found, audio_s, fa_b = [], 0.0, 0
    snrs = args.natural_snrs
    for k, i in enumerate(range(0, len(contours), SCENE_SOUNDS)):
        sounds = [
            whistle_sound(c, sample_rate=sr, rng=rng, note=note)
            for c, note in contours[i : i + SCENE_SOUNDS]
        ]
        scene = make_scene(sounds, sample_rate=sr, rng=rng, snr_db=snrs[k % len(snrs)])
        dets, _ = run_matcher(matcher, scene.samples, 0.02)
        found += [d | dict(note=truth_note(scene.truth, d)) for d in dets]
        fa_b += sum(d["accepted"] for d in baseline_dicts(baseline, scene.samples))
        audio_s += scene.duration_s
    hours = audio_s / 3600
    fa = [d for d in found if d["accepted"]]
    whistles = dict(
        n_whistles=len(contours),
        n_lookalikes=sum(note.startswith("lookalike") for _, note in contours),
        snrs_db=list(snrs),
        audio_s=audio_s,
        hours=hours,
        fa_matcher=len(fa),
        fa_baseline=fa_b,
        fa_per_hour_matcher=len(fa) / hours,
        fa_per_hour_baseline=fa_b / hours,
        fa_per_whistle_matcher=len(fa) / max(len(contours), 1),
        false_alarms=[
            {k: (round(v, 3) if isinstance(v, float) else v) for k, v in d.items()} for d in fa
        ],
        closest_rejected=sorted(
            (
                dict(
                    distance=round(d["distance"], 3),
                    natural_distance=round(d["natural_distance"], 3),
                    note=d["note"],
                )
                for d in found
                if not d["accepted"]
            ),
            key=lambda r: r["distance"],
        )[:10],
    )
    pulsed = dict(n_sounds=args.natural_pulsed, fa_matcher=0, audio_s=0.0)
    if args.natural_pulsed:
        scene = make_scene(natural_pulsed_sounds(args, rng, sr), sample_rate=sr, rng=rng, snr_db=20)
        dets, _ = run_matcher(matcher, scene.samples, 0.02)
        pulsed.update(audio_s=scene.duration_s, fa_matcher=sum(d["accepted"] for d in dets))
        found += dets
    return dict(whistles=whistles, pulsed=pulsed), found


def run_noise(matcher, baseline, hours: float, rng, sr: int) -> tuple[dict, list]:
    """False alarms on noise-only audio streamed in 60 s pieces (one stream, bounded memory)."""
    found, fa_b, audio_s = [], 0, 0.0
    keep = max(THRESHOLDS) * 1.5  # what a sweep could accept; the rest is dropped on the way
    cpu = time.process_time()
    with matcher.streaming():
        for x in noise_blocks(duration_s=hours * 3600, sample_rate=sr, rng=rng):
            blk = int(0.02 * sr)
            for i in range(0, x.size, blk):
                found += [compact(d) for d in matcher.process(x[i : i + blk]) if d.distance <= keep]
            fa_b += sum(d["accepted"] for d in baseline_dicts(baseline, x))
            audio_s += x.size / sr
        found += [compact(d) for d in matcher.flush() if d.distance <= keep]
    h = audio_s / 3600
    acc = sum(d["accepted"] for d in found)
    return dict(
        hours=h,
        fa_matcher=acc,
        fa_baseline=fa_b,
        fa_per_hour_matcher=acc / h,
        fa_per_hour_baseline=fa_b / h,
        fa_per_hour_upper95_matcher=poisson_upper95(acc) / h,
        matcher_cpu_share=(time.process_time() - cpu) / audio_s,
        # every judged sound within reach of a sweep: any setting can be re-scored from these
        near=[
            {k: d[k] for k in ("kind", "distance", "margin", "natural_distance", "start_s")}
            for d in sorted(found, key=lambda d: d["distance"])[:50]
        ],
    ), found


def poisson_upper95(k: int) -> float:
    """One-sided 95 % upper bound of a Poisson mean after ``k`` events (3.0 for none)."""
    from scipy.stats import chi2

    return float(chi2.ppf(0.95, 2 * (k + 1)) / 2)


def cpu_load(vocab, sr: int, seconds: float, rng, naturals) -> float:
    """CPU seconds per audio second of the streaming matcher in 20 ms blocks."""
    sounds = [
        whistle_sound(imitate(e.contour, rng=rng), sample_rate=sr, rng=rng, label=e.label)
        for e in vocab.entries
    ]
    x = make_scene(sounds, sample_rate=sr, rng=rng, snr_db=10.0).samples
    x = np.tile(x, int(np.ceil(seconds * sr / x.size)))[: int(seconds * sr)]
    matcher = MimicMatcher(vocab, MatcherConfig(), sample_rate=sr, naturals=naturals)
    run_matcher(matcher, x[:sr], 0.02)  # warm up numba and caches
    _, cpu = run_matcher(matcher, x, 0.02)
    return cpu / seconds


def pct(values, q) -> float | None:
    return float(np.percentile(values, q)) if len(values) else None


def sweep(cfg, mimic_runs, natural_found, noise_found) -> list[dict]:
    """Recall per SNR and false alarms for each whistle threshold and natural margin."""
    rows = []
    for th in THRESHOLDS:
        for margin in NATURAL_MARGINS:
            row = dict(threshold=th, natural_margin=margin)
            for snr, truth, det in mimic_runs:
                row[f"recall_{snr:.0f}db"] = score(truth, relabel(det, th, margin, cfg))["recall"]
            if natural_found is not None:
                row["fa_natural"] = sum(
                    d["accepted"] for d in relabel(natural_found, th, margin, cfg)
                )
            if noise_found is not None:
                row["fa_noise"] = sum(d["accepted"] for d in relabel(noise_found, th, margin, cfg))
            rows.append(row)
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sample-rate", type=int, default=96000)
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    parser.add_argument("--per-label", type=int, default=6, help="full whistle imitations")
    parser.add_argument("--partial-per-label", type=int, default=2)
    parser.add_argument("--pulsed-per-label", type=int, default=2, help="per pulsed kind")
    parser.add_argument("--natural", type=int, default=600, help="natural whistles rendered")
    parser.add_argument("--natural-snrs", type=float, nargs="+", default=[10.0, 20.0, 30.0])
    parser.add_argument("--lookalikes", type=int, default=30, help="held-out ones closest first")
    parser.add_argument(
        "--natural-source",
        choices=("shipped", "real"),
        default="shipped",
        help="natural whistles from the shipped SIGWI half (and variants of them) or from every "
        f"usable contour of the SIGWI checkout in {SIGWI_DIR} but the references",
    )
    parser.add_argument("--natural-pulsed", type=int, default=15)
    parser.add_argument("--noise-hours", type=float, default=1 / 6, help="noise-only audio")
    parser.add_argument("--cpu-s", type=float, default=20.0, help="audio seconds timed")
    parser.add_argument("--candidates", type=int, default=1000, help="vocabulary candidates")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a small run for a smoke test")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/chat.json"))
    parser.add_argument(
        "matcher_overrides", nargs="*", metavar="KEY=VALUE", help="MatcherConfig fields"
    )
    args = parser.parse_args()
    if args.quick:
        args.snrs, args.per_label, args.partial_per_label = [10.0], 2, 1
        args.natural, args.lookalikes, args.natural_pulsed = 40, 10, 3
        args.noise_hours, args.cpu_s, args.candidates = 1 / 60, 5.0, 80
    return args


def matcher_config(overrides: list[str]) -> MatcherConfig:
    """``MatcherConfig`` with ``threshold=0.7``-style overrides of its float fields."""
    cfg = MatcherConfig()
    for item in overrides:
        key, _, value = item.partition("=")
        if not hasattr(cfg, key) or not value:
            raise SystemExit(f"unknown MatcherConfig override {item!r}")
        cfg = replace(cfg, **{key: float(value)})
    return cfg


def main() -> None:
    args = parse_args()
    sr, rng = args.sample_rate, np.random.default_rng(args.seed)
    t_start, cpu_start = time.time(), time.process_time()

    # Designed against the 1,500 shipped natural references, which the matcher knows too; the
    # shipped 300-contour subset, disjoint from them, is held out as unseen natural whistles.
    design_set = load_sigwi_references()
    held_out_set = load_sigwi_contours()
    vocab = design_vocabulary(
        len(LABELS),
        LABELS,
        natural=[r.contour for r in design_set],
        config=VocabConfig(n_candidates=args.candidates),
        seed=args.seed,
    )
    print(
        f"vocabulary: min pairwise {vocab.report.min_pairwise_semitones:.2f} semitones, "
        f"min to the SIGWI references {vocab.report.min_natural_semitones:.2f}"
    )
    cfg = matcher_config(args.matcher_overrides)
    naturals = [r.contour for r in design_set]
    matcher = MimicMatcher(vocab, cfg, sample_rate=sr, naturals=naturals)
    baseline = TemplateMatcher(vocab, sr)
    results = dict(
        config=vars(args) | dict(out=str(args.out)),
        matcher=dict(
            threshold=cfg.threshold,
            min_margin=cfg.min_margin,
            natural_margin=cfg.natural_margin,
            naturals=f"shipped SIGWI references ({len(design_set)})",
        ),
        platform=platform.platform(),
        vocab=dict(
            labels=list(LABELS),
            min_pairwise_semitones=vocab.report.min_pairwise_semitones,
            min_natural_semitones=vocab.report.min_natural_semitones,
        ),
        targets=TARGETS,
    )

    mimic_runs, natural_found, noise_found = [], None, None
    if "mimic" in args.parts:
        per_snr, latency_truth, latency_det, pulse_latency = {}, [], [], []
        for snr in args.snrs:
            sounds = mimic_sounds(vocab, args, rng, sr)
            scene = make_scene(sounds, sample_rate=sr, rng=rng, snr_db=snr)
            found, _ = run_matcher(matcher, scene.samples, 0.02)
            mimic_runs.append((snr, scene.truth, found))
            m = score(scene.truth, found)
            b = score(scene.truth, baseline_dicts(baseline, scene.samples))
            latency_truth += m.pop("latency_truth_s")
            latency_det += m.pop("latency_detected_s")
            pulse_latency += [
                d["detected_at_s"] - d["end_s"]
                for d in found
                if d["accepted"] and d["kind"] != "whistle"
            ]
            b.pop("latency_truth_s"), b.pop("latency_detected_s")
            per_snr[str(snr)] = dict(matcher=m, baseline=b, audio_s=scene.duration_s)
            print(
                f"SNR {snr:>4.0f} dB: matcher recall {m['recall']:.3f} precision "
                f"{m['precision']:.3f} {m['recall_by_kind']} | baseline recall {b['recall']:.3f}"
            )
        results["per_snr"] = per_snr
        results["latency"] = dict(
            whistle_from_truth_end_p50_ms=1e3 * (pct(latency_truth, 50) or np.nan),
            whistle_from_truth_end_p95_ms=1e3 * (pct(latency_truth, 95) or np.nan),
            whistle_from_detected_end_p50_ms=1e3 * (pct(latency_det, 50) or np.nan),
            whistle_from_detected_end_p95_ms=1e3 * (pct(latency_det, 95) or np.nan),
            pulsed_p50_s=pct(pulse_latency, 50),
            pulsed_p95_s=pct(pulse_latency, 95),
        )
    if "natural" in args.parts:
        held_out = len(held_out_set)
        natural, natural_found = run_natural(
            matcher, baseline, vocab, args, rng, sr, held_out, {r.id for r in design_set}
        )
        results["natural" if args.natural_source == "shipped" else "natural_real"] = natural
        w = natural["whistles"]
        print(
            f"natural whistles: {w['fa_matcher']} false alarms in {w['n_whistles']} whistles, "
            f"{w['hours']:.3f} h ({w['fa_per_hour_matcher']:.1f}/h); baseline {w['fa_baseline']};"
            f" natural pulsed: {natural['pulsed']['fa_matcher']}"
        )
    if "noise" in args.parts:
        noise, noise_found = run_noise(matcher, baseline, args.noise_hours, rng, sr)
        key = "noise_only" if set(PARTS) <= set(args.parts) else "noise_only_long"
        results[key] = noise
        print(
            f"noise only: {noise['fa_matcher']} false alarms in {noise['hours']:.2f} h "
            f"({noise['fa_per_hour_matcher']:.2f}/h, 95 % upper "
            f"{noise['fa_per_hour_upper95_matcher']:.2f}/h); baseline {noise['fa_baseline']}"
        )
    if mimic_runs or natural_found is not None:
        results["threshold_sweep"] = sweep(cfg, mimic_runs, natural_found, noise_found)
    if "cpu" in args.parts:
        results["cpu_share_of_one_core"] = {
            str(rate): cpu_load(vocab, rate, args.cpu_s, rng, naturals) for rate in (96000, 192000)
        }
    results.update(wall_s=time.time() - t_start, cpu_s=time.process_time() - cpu_start)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = json.loads(args.out.read_text()) if args.out.exists() else {}
    long_runs = ("noise_only_long", "natural_real")
    kept = {k: old[k] for k in long_runs if k in old and k not in results}
    if set(PARTS) <= set(args.parts):
        results |= kept  # a full run keeps the long noise-only measurement
    else:
        # a partial run updates only what it measured; its settings are stored beside it
        produced = {"per_snr", "latency", "natural", "threshold_sweep", *long_runs}
        produced |= {"cpu_share_of_one_core"}
        config = results["config"] | dict(matcher=results["matcher"])
        results = old | {k: v for k, v in results.items() if k in produced}
        results[f"config_{'_'.join(args.parts)}"] = config
    args.out.write_text(json.dumps(finite(results), indent=1, default=float) + "\n")
    print_table(results)
    print(f"written to {args.out} ({time.time() - t_start:.0f} s)")


def finite(obj):
    """``obj`` with non-finite floats as None (strict JSON has no Infinity or NaN)."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def print_table(r: dict) -> None:
    rows = [("metric", "matcher", "baseline", "target")]
    for snr, v in r.get("per_snr", {}).items():
        m, b = v["matcher"], v["baseline"]
        target = ">= 0.95" if float(snr) >= 10 else ""
        rows.append(
            (f"recall @ {float(snr):.0f} dB", f"{m['recall']:.3f}", f"{b['recall']:.3f}", target)
        )
        kinds = ("whistle", "partial", "burst_pulse", "click_train")
        rows.append(
            (
                "  whistle / partial / burst / click",
                " / ".join(f"{m['recall_by_kind'].get(k, float('nan')):.2f}" for k in kinds),
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
    for key in ("noise_only", "noise_only_long"):
        if key in r:
            z = r[key]
            rows.append(
                (
                    f"false alarms/h, noise only ({z['hours']:.2f} h)",
                    f"{z['fa_per_hour_matcher']:.2f} ({z['fa_matcher']})",
                    f"{z['fa_per_hour_baseline']:.2f} ({z['fa_baseline']})",
                    "<= 1",
                )
            )
    for key, tag in (("natural", ""), ("natural_real", "real SIGWI, ")):
        if key not in r:
            continue
        w = r[key]["whistles"]
        rows.append(
            (
                f"false alarms/h, natural whistles ({tag}{w['hours']:.2f} h, {w['n_whistles']})",
                f"{w['fa_per_hour_matcher']:.1f} ({w['fa_matcher']})",
                f"{w['fa_per_hour_baseline']:.1f} ({w['fa_baseline']})",
                "<= 1",
            )
        )
        p = r[key]["pulsed"]
        rows.append(
            (f"false alarms, natural pulsed ({p['n_sounds']})", str(p["fa_matcher"]), "", "")
        )
    if "latency" in r:
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
    for rate, share in r.get("cpu_share_of_one_core", {}).items():
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
    if r.get("threshold_sweep"):
        print("\nwhistle threshold x natural margin sweep (semitones; None: no natural check):")
        keys = list(r["threshold_sweep"][0])
        print("  ".join(f"{k:>12}" for k in keys))
        for row in r["threshold_sweep"]:
            cells = [
                f"{row[k]:>12.3f}" if isinstance(row[k], float) else f"{row[k]!s:>12}" for k in keys
            ]
            print("  ".join(cells))


if __name__ == "__main__":
    main()
