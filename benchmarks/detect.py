"""Benchmark: the detection chain with and without the CNN second stage, per SNR.

For each SNR level (every event of a scene mixed at exactly that SNR) it renders ``--scenes``
held-out synthetic scenes of ``--duration`` seconds at 96 kHz (seeds from 0 and population 0,
as ``benchmarks/detect_sp.py``: the SP detectors were tuned on seeds 100-105, the classifier
trained on 64-bit derived seeds and populations >= 1000, its thresholds chosen on seeds
200-215),
runs :class:`dolphin.detect.pipeline.Detector` (SP) and then the event classifier
(:func:`dolphin.detect.classifier.refine_events`, SP+CNN), and scores

* events per class (whistle, burst_pulse, click_train, buzz): one-to-one matching at temporal
  IoU >= 0.3 (:func:`dolphin.detect.evaluate.score_events`), counts summed over scenes; the
  4-class macro F1 is the mean of the four F1s (``macro3`` folds buzz into click_train); 16
  scenes of 30 s give ~55 pulsed events per class and level (with 8, one event moved F1 by
  ~0.02);
* whistle contours of the whistle events as silbido does
  (:func:`dolphin.detect.evaluate.score_contours`: 350 Hz, ground truth >= 150 ms with >= 30 % of
  points at >= 10 dB SNR, >= 30 % coverage);
* speed in multiples of real time on one core (process pinned to one CPU, one BLAS / torch
  thread), SP and CNN stage separately, on one 60 s scene (median of ``--repeats`` runs);
* whistle-type clustering ARI, read from ``benchmarks/results/whistle_types.json``;
* real recordings under ``/work/shared/data/real`` when present (skipped otherwise): the
  PAMGuard dolphin whistle clip (48 kHz, resampled to 96 kHz for the CNN), SP whistle events and
  how many the CNN keeps (no ground truth exists for it).

It prints a table and writes JSON (default ``benchmarks/results/detect.json``).

    python benchmarks/detect.py [--scenes 16] [--duration 30] [--snrs 0 5 10 20]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dolphin.annotations import BURST_PULSE, BUZZ, CLICK_TRAIN, WHISTLE  # noqa: E402
from dolphin.detect.classifier import EventClassifier  # noqa: E402
from dolphin.detect.evaluate import contour_snr_db, score_contours, score_events  # noqa: E402
from dolphin.detect.pipeline import Detector  # noqa: E402
from dolphin.detect.refine import refine_events  # noqa: E402
from dolphin.synth.scene import SceneConfig, make_scene  # noqa: E402

LABELS = (WHISTLE, BURST_PULSE, CLICK_TRAIN, BUZZ)
SAMPLE_RATE = 96000
RESULTS = Path(__file__).parent / "results"
REAL = Path("/work/shared/data/real")
WHISTLE_CLIP = REAL / "pamguard/src/Resources/exampleSounds/dolphin_whistle.wav"
#: Event rates per minute (as benchmarks/detect_sp.py): tens of events per class and SNR.
RATES = dict(
    signature_bout_rate_per_min=1.5,
    whistle_rate_per_min=10.0,
    sigwi_whistle_rate_per_min=10.0,
    burst_pulse_rate_per_min=6.0,
    click_train_rate_per_min=6.0,
    buzz_rate_per_min=6.0,
)
TARGETS = {"contour_f1": 0.88, "macro_f1": 0.95, "macro_f1_5db": 0.90, "x_realtime": 100.0}


def scene_config(snr_db: float, duration_s: float) -> SceneConfig:
    """Default scene settings (shrimp, vessels, echoes) with every event at ``snr_db``."""
    kw = dict(sample_rate=SAMPLE_RATE, duration_s=duration_s, snr_db_min=snr_db)
    return SceneConfig(**kw, snr_db_max=snr_db, **RATES)


def _prf(tp: int, n_pred: int, n_true: int) -> dict:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f, "tp": tp, "n_pred": n_pred, "n_true": n_true}


def _fold_buzz(events):
    from dataclasses import replace

    return [replace(e, label=CLICK_TRAIN) if e.label == BUZZ else e for e in events]


class Tally:
    """Event and contour counts of one system summed over scenes."""

    def __init__(self) -> None:
        self.events = {label: [0, 0, 0] for label in LABELS}
        self.folded = {label: [0, 0, 0] for label in LABELS[:3]}
        self.contours = dict(n_detected=0, n_valid=0, n_scored=0, n_found=0)

    def add(self, predicted, truth, contours, truth_contours, truth_snr) -> None:
        for counts, scores in (
            (self.events, score_events(predicted, truth, labels=LABELS)),
            (
                self.folded,
                score_events(_fold_buzz(predicted), _fold_buzz(truth), labels=LABELS[:3]),
            ),
        ):
            for label, c in scores.items():
                counts[label] = [counts[label][0] + c.tp, counts[label][1] + c.n_pred,
                                 counts[label][2] + c.n_true]  # fmt: skip
        s = score_contours(contours, truth_contours, truth_snr_db=truth_snr)
        for key in self.contours:
            self.contours[key] += getattr(s, key)

    def result(self) -> dict:
        events = {label: _prf(*v) for label, v in self.events.items()}
        c = self.contours
        p = c["n_valid"] / c["n_detected"] if c["n_detected"] else 0.0
        r = c["n_found"] / c["n_scored"] if c["n_scored"] else 0.0
        return {
            "events": events,
            "macro_f1": float(np.mean([e["f1"] for e in events.values()])),
            "macro3_f1": float(np.mean([_prf(*v)["f1"] for v in self.folded.values()])),
            "contours": {
                **c,
                "precision": p,
                "recall": r,
                "f1": 2 * p * r / (p + r) if p + r else 0.0,
            },
        }


def run_level(snr_db: float, seeds: list[int], duration_s: float, model: EventClassifier) -> dict:
    """Detect with SP and SP+CNN in every scene of one SNR level; returns both tallies."""
    sp, cnn = Tally(), Tally()
    for seed in seeds:
        scene = make_scene(scene_config(snr_db, duration_s), seed=seed)
        x = scene.samples[0]
        found = Detector(sample_rate=SAMPLE_RATE).detect(x)
        probs = model.frame_probabilities(x, sample_rate=SAMPLE_RATE)
        refined = refine_events(found.events, probs, model.config, sample_rate=SAMPLE_RATE)
        truth = [e.contour for e in scene.events if e.contour is not None]
        snr = contour_snr_db(
            truth, signal=x - scene.noise[0], noise=scene.noise[0], sample_rate=SAMPLE_RATE
        )
        for tally, events in ((sp, found.events), (cnn, refined)):
            contours = [e.contour for e in events if e.label == WHISTLE and e.contour is not None]
            tally.add(events, scene.events, contours, truth, snr)
    return {"snr_db": snr_db, "sp": sp.result(), "sp_cnn": cnn.result()}


def measure_speed(model: EventClassifier, duration_s: float = 60.0, repeats: int = 3) -> dict:
    """CPU seconds of the SP chain and of the CNN stage on one 60 s, 10 dB scene (medians)."""
    x = make_scene(scene_config(10.0, duration_s), seed=999).samples[0]
    model.frame_probabilities(x[: SAMPLE_RATE * 2], sample_rate=SAMPLE_RATE)  # warm-up
    runs = []
    for _ in range(repeats):  # a loaded machine varies by ~10 % from run to run
        t0 = time.process_time()
        found = Detector(sample_rate=SAMPLE_RATE).detect(x)
        t1 = time.process_time()
        probs = model.frame_probabilities(x, sample_rate=SAMPLE_RATE)
        refine_events(found.events, probs, model.config, sample_rate=SAMPLE_RATE)
        runs.append((t1 - t0, time.process_time() - t1))
    sp, cnn = (float(np.median(v)) for v in zip(*runs, strict=True))
    both = float(np.median([a + b for a, b in runs]))
    return {
        "audio_s": duration_s,
        "repeats": repeats,
        "cpu_s": {"sp": sp, "cnn": cnn, "all": both},
        "x_realtime": {
            "sp": duration_s / sp,
            "cnn": duration_s / cnn,
            "all": duration_s / both,
        },
    }


def clustering_ari() -> dict | None:
    """ARI of whistle-type clustering from benchmarks/whistle_types.py's last run."""
    path = RESULTS / "whistle_types.json"
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    out = {}
    for part in ("sigwi", "synthetic"):
        if part in doc and "dolphin" in doc[part]:
            out[part] = {k: doc[part]["dolphin"][k] for k in ("ari", "ari_clustered", "n_types")}
    return out


def real_recordings(model: EventClassifier) -> dict:
    """SP whistles in the PAMGuard dolphin whistle clip and the CNN's verdict on them."""
    if not WHISTLE_CLIP.is_file():
        return {"status": f"skipped: {WHISTLE_CLIP} absent"}
    from dolphin.audio.dsp import resample
    from dolphin.audio.io import read_audio

    audio = read_audio(WHISTLE_CLIP)
    x = audio.samples[0]
    found = Detector(sample_rate=audio.sample_rate).detect(x)
    y = resample(x, orig_sr=audio.sample_rate, target_sr=SAMPLE_RATE)
    probs = model.frame_probabilities(y, sample_rate=SAMPLE_RATE)
    refined = refine_events(found.events, probs, model.config, sample_rate=SAMPLE_RATE)
    sp = [e for e in found.events if e.label == WHISTLE]
    return {
        "status": "ok",
        "file": str(WHISTLE_CLIP.relative_to(REAL)),
        "note": "48 kHz, no ground truth; resampled to 96 kHz for the CNN (pulse rows empty)",
        "sp_events": {label: sum(e.label == label for e in found.events) for label in LABELS},
        "sp_cnn_events": {label: sum(e.label == label for e in refined) for label in LABELS},
        "sp_whistles_kept": sum(e.label == WHISTLE for e in refined),
        "sp_whistles": len(sp),
        "whistle_probability": [float(probs.mean(e.start_s, e.end_s)[0]) for e in sp],
    }


def print_table(levels: list[dict], speed: dict) -> None:
    """One row per SNR and system: event F1 per class, macro F1, contour P/R/F1."""
    head = " | ".join(f"{label[:11]:>11}" for label in LABELS)
    print(f"SNR dB system | {head} | macro4 macro3 | contour P    R    F1")
    for lv in levels:
        for key, name in (("sp", "SP    "), ("sp_cnn", "SP+CNN")):
            r = lv[key]
            cells = " | ".join(f"{r['events'][label]['f1']:>11.3f}" for label in LABELS)
            c = r["contours"]
            print(
                f"{lv['snr_db']:>6.0f} {name} | {cells} | {r['macro_f1']:.3f}  {r['macro3_f1']:.3f}"
                f"  |   {c['precision']:.3f} {c['recall']:.3f} {c['f1']:.3f}"
            )
    v = speed["x_realtime"]
    print(
        f"speed (x real time, 96 kHz, one core): SP {v['sp']:.0f}, CNN {v['cnn']:.0f}, all {v['all']:.0f}"
    )


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=16, help="scenes per SNR level")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per scene")
    parser.add_argument("--snrs", type=float, nargs="+", default=[0.0, 5.0, 10.0, 20.0])
    parser.add_argument("--first-seed", type=int, default=0, help="held-out seeds start here")
    parser.add_argument("--classifier", default="default", help="shipped name or model folder")
    parser.add_argument("--repeats", type=int, default=3, help="speed runs (the median counts)")
    parser.add_argument("--out", type=Path, default=RESULTS / "detect.json")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core
    torch.set_num_threads(1)
    model = EventClassifier.from_pretrained(args.classifier)
    seeds = list(range(args.first_seed, args.first_seed + args.scenes))
    start = time.perf_counter()
    levels = [run_level(snr, seeds, args.duration, model) for snr in args.snrs]
    speed = measure_speed(model, repeats=args.repeats)
    print_table(levels, speed)
    ari, real = clustering_ari(), real_recordings(model)
    if ari:
        print(
            "whistle-type clustering ARI: "
            + ", ".join(f"{k} {v['ari']:.3f}" for k, v in ari.items())
        )
    print(f"real recordings: {real['status']}" + (
        f" ({real['sp_whistles_kept']} of {real['sp_whistles']} SP whistles kept by the CNN)"
        if real["status"] == "ok" else ""
    ))  # fmt: skip
    print(f"wall {time.perf_counter() - start:.0f} s")
    result = {
        "benchmark": "detect",
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count()},
        "classifier": args.classifier,
        "classifier_config": model.config.to_dict(),
        "sample_rate": SAMPLE_RATE,
        "seeds": seeds,
        "scene_duration_s": args.duration,
        "scene_rates_per_min": RATES,
        "matching": {"event_min_iou": 0.3, "contour_max_deviation_hz": 350.0},
        "targets": TARGETS,
        "levels": levels,
        "speed": speed,
        "clustering_ari": ari,
        "real": real,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
