"""Benchmark: signal-processing detectors on held-out synthetic scenes, per SNR.

For each SNR level (every event of a scene mixed at exactly that SNR) it renders ``--scenes``
scenes of ``--duration`` seconds at 96 kHz with held-out seeds (the detectors were tuned on seeds
100-105; these start at 0), runs the whistle tracker and the click detector plus click-train
grouping on channel 1, and scores

* whistle contours as silbido does (:func:`dolphin.detect.evaluate.score_contours`: 350 Hz,
  ground truth >= 150 ms with >= 30 % of points at >= 10 dB SNR, >= 30 % coverage),
* events per class (whistle, burst_pulse, click_train, buzz): one-to-one matching at temporal
  IoU >= 0.3 (:func:`dolphin.detect.evaluate.score_events`), counts summed over scenes,
* speed as a multiple of real time on one core (the process is pinned to one CPU and BLAS to one
  thread), per stage and for the whole chain.

It prints a table and writes JSON (default ``benchmarks/results/detect_sp.json``).

    python benchmarks/detect_sp.py [--scenes 8] [--duration 30] [--snrs 0 5 10 20]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, WHISTLE  # noqa: E402
from dolphin.detect.clicks import ClickDetectorConfig, detect_clicks  # noqa: E402
from dolphin.detect.contours import (  # noqa: E402
    WhistleTrackerConfig,
    track_whistles,
    whistle_events,
)
from dolphin.detect.evaluate import contour_snr_db, score_contours, score_events  # noqa: E402
from dolphin.detect.pulses import ClickTrainConfig, group_clicks, train_events  # noqa: E402
from dolphin.synth.scene import SceneConfig, make_scene  # noqa: E402

LABELS = (WHISTLE, BURST_PULSE, CLICK_TRAIN, BUZZ)
SAMPLE_RATE = 96000
#: Event rates per minute, raised from the defaults so each class has tens of events per SNR.
RATES = dict(
    signature_bout_rate_per_min=1.5,
    whistle_rate_per_min=10.0,
    sigwi_whistle_rate_per_min=10.0,
    burst_pulse_rate_per_min=6.0,
    click_train_rate_per_min=6.0,
    buzz_rate_per_min=6.0,
)


def scene_config(snr_db: float, duration_s: float) -> SceneConfig:
    """Default scene settings (shrimp, vessels, echoes) with every event at ``snr_db``."""
    return SceneConfig(
        sample_rate=SAMPLE_RATE,
        duration_s=duration_s,
        snr_db_min=snr_db,
        snr_db_max=snr_db,
        **RATES,
    )


def _prf(tp: int, n_pred: int, n_true: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_true": n_true}


def run_level(snr_db: float, seeds: list[int], duration_s: float) -> dict:
    """Detect and score every scene of one SNR level; returns summed counts and timings."""
    counts = {label: [0, 0, 0] for label in LABELS}
    contour = dict(n_detected=0, n_valid=0, n_scored=0, n_found=0)
    deviation, coverage, fragmentation = [], [], []
    seconds = {"whistles": 0.0, "clicks": 0.0, "trains": 0.0}
    audio_s = 0.0
    for seed in seeds:
        scene = make_scene(scene_config(snr_db, duration_s), seed=seed)
        x = scene.samples[0]
        audio_s += x.size / SAMPLE_RATE
        t0 = time.process_time()
        whistles = track_whistles(x, sample_rate=SAMPLE_RATE)
        t1 = time.process_time()
        clicks = detect_clicks(x, sample_rate=SAMPLE_RATE)
        t2 = time.process_time()
        trains = group_clicks(clicks)
        t3 = time.process_time()
        seconds["whistles"] += t1 - t0
        seconds["clicks"] += t2 - t1
        seconds["trains"] += t3 - t2
        truth = [e.contour for e in scene.events if e.contour is not None]
        snr = contour_snr_db(
            truth, signal=x - scene.noise[0], noise=scene.noise[0], sample_rate=SAMPLE_RATE
        )
        s = score_contours([w.contour for w in whistles], truth, truth_snr_db=snr)
        for key in contour:
            contour[key] += getattr(s, key)
        deviation.append(s.deviation_hz)
        coverage.append(s.coverage)
        fragmentation.append(s.fragmentation)
        predicted = whistle_events(whistles) + train_events(trains)
        for label, c in score_events(predicted, scene.events, labels=LABELS).items():
            counts[label][0] += c.tp
            counts[label][1] += c.n_pred
            counts[label][2] += c.n_true
    p = contour["n_valid"] / contour["n_detected"] if contour["n_detected"] else 0.0
    r = contour["n_found"] / contour["n_scored"] if contour["n_scored"] else 0.0
    total = sum(seconds.values())
    return {
        "snr_db": snr_db,
        "contours": {
            **contour,
            "precision": p,
            "recall": r,
            "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "deviation_hz": float(np.nanmean(deviation)),
            "coverage": float(np.nanmean(coverage)),
            "fragmentation": float(np.nanmean(fragmentation)),
        },
        "events": {label: _prf(*counts[label]) for label in LABELS},
        "audio_s": audio_s,
        "cpu_s": seconds,
        "x_realtime": {k: audio_s / v for k, v in seconds.items()} | {"all": audio_s / total},
    }


def print_table(levels: list[dict]) -> None:
    """One row per SNR: contour P/R/F1, event P/R/F1 per class, speed."""
    groups = ["contours", *LABELS]
    print("SNR dB | " + " | ".join(f"{g[:14]:^14}" for g in groups) + " | x real time")
    print("       | " + " | ".join(f"{'P    R    F1':^14}" for _ in groups) + " | all/whis/clk")
    for lv in levels:
        cells = [lv["contours"]] + [lv["events"][label] for label in LABELS]
        row = " | ".join(f"{c['precision']:.2f} {c['recall']:.2f} {c['f1']:.2f}" for c in cells)
        cpu = lv["cpu_s"]
        speed = [lv["audio_s"] / v for v in (sum(cpu.values()), cpu["whistles"])]
        speed.append(lv["audio_s"] / (cpu["clicks"] + cpu["trains"]))
        print(f"{lv['snr_db']:>6.0f} | {row} | " + "/".join(f"{v:.0f}" for v in speed))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8, help="scenes per SNR level")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scene")
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    parser.add_argument("--first-seed", type=int, default=0, help="held-out seeds start here")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "detect_sp.json"
    )
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    seeds = list(range(args.first_seed, args.first_seed + args.scenes))
    start = time.perf_counter()
    levels = [run_level(snr, seeds, args.duration) for snr in args.snrs]
    print_table(levels)
    audio = sum(lv["audio_s"] for lv in levels)
    cpu = sum(sum(lv["cpu_s"].values()) for lv in levels)
    wall = time.perf_counter() - start
    print(f"overall {audio / cpu:.0f}x real time on one core; wall {wall:.0f} s")
    result = {
        "benchmark": "detect_sp",
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "sample_rate": SAMPLE_RATE,
        "seeds": seeds,
        "scene_duration_s": args.duration,
        "scene_rates_per_min": RATES,
        "matching": {"event_min_iou": 0.3, "contour_max_deviation_hz": 350.0},
        "configs": {
            "whistle_tracker": dataclasses.asdict(WhistleTrackerConfig()),
            "click_detector": dataclasses.asdict(ClickDetectorConfig()),
            "click_trains": dataclasses.asdict(ClickTrainConfig()),
        },
        "levels": levels,
        "x_realtime_overall": audio / cpu,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
