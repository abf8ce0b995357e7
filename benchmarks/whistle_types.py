"""Benchmark: whistle contour types against SIGWI's categories and synthetic signature types.

Three methods cluster the same contours, side by side:

* ``dolphin``: :func:`dolphin.detect.clustering.cluster_contours` with its defaults (DTW on
  mean-removed log-frequency shapes with bounded shift and stretch penalties, then HDBSCAN);
* ``plain-dtw``: the same DTW + HDBSCAN without shift tolerance (absolute log-frequency, no
  duration penalty): the baseline the shift tolerance must beat;
* ``artwarp``: ARTwarp (Deecke & Janik 2006) from the PyPI package ``artwarp-py`` (the ``bench``
  extra), fed frequency arrays at a 20 ms step; it assigns every contour, so it has no noise.

Data sets:

* ``sigwi``: the real common-dolphin contours of SIGWI (``/work/shared/data/real/sigwi`` or
  ``--sigwi``) that SIGWI's own DTW + HDBSCAN put in a category (1-216); ``--max-contours`` keeps
  whole random categories up to that many contours, ``--unclustered`` adds contours SIGWI left
  unclustered (their truth is "each its own"). SIGWI's categories are another algorithm's
  output, not ground truth: the ARI measures agreement with it. Skipped, with a note, when
  the data are absent.
* ``synthetic``: renditions of synthetic signature and shared whistle types
  (:mod:`dolphin.synth.contours`) with rendition jitter plus an extra +-6 % pitch shift and +-20 %
  time stretch, and unstructured random contours as strays. Multi-loop renditions are given to
  every method as their first loop.

Scores: ``ari`` is the adjusted Rand index over all contours with each unclustered contour as its
own singleton; ``ari_clustered`` only over the contours the method put in a type; ``coverage``
is the share it put in a type. ``sigid`` lines apply the SIGID bout rule
(:mod:`dolphin.detect.sigid`) to the ``dolphin`` types and to SIGWI's categories, per recording.
Results go to ``benchmarks/results/whistle_types.json``.

    python benchmarks/whistle_types.py [--max-contours N] [--unclustered N] [--no-artwarp]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import platform
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from dolphin.annotations import Contour
from dolphin.detect.clustering import ClusterConfig, cluster_contours
from dolphin.detect.dtw import DTWConfig
from dolphin.detect.sigid import identify_signature_types
from dolphin.synth.contours import make_population, random_contour, render_rendition, split_loops

SIGWI_DIR = Path("/work/shared/data/real/sigwi")
ARTWARP_STEP_S = 0.02  # ARTwarp input resolution; its DTW is quadratic in contour length


def load_sigwi(root: Path, *, max_contours: int | None, unclustered: int, seed: int) -> dict:
    """SIGWI contours with categories, recording names and start times (seconds in the file)."""
    res = root / "resources"
    category = {}
    with open(res / "dtw_resources" / "contours_with_category.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            category[int(row[""].split(".")[0])] = int(row["category"])
    with open(res / "DF-whistles" / "whistles_features.csv", newline="") as handle:
        recording = {int(r["whistle_ID"]): r["file_annot"] for r in csv.DictReader(handle)}
    rng = np.random.default_rng(seed)
    members: dict[int, list[int]] = {}
    for wid, cat in sorted(category.items()):
        members.setdefault(cat, []).append(wid)
    types = [c for c in sorted(members) if c != 0]
    chosen: list[int] = []
    for cat in rng.permutation(types):  # whole categories, so each keeps all its members
        if max_contours is not None and len(chosen) + len(members[cat]) > max_contours:
            continue
        chosen += members[cat]
    noise = rng.choice(members[0], size=min(unclustered, len(members[0])), replace=False)
    wanted = set(chosen) | {int(i) for i in noise}
    contours = {}
    with gzip.open(res / "DF-whistles" / "contours.jsonl.gz", "rt") as handle:
        for line in handle:
            item = json.loads(line)
            if item["whistle_ID"] in wanted:
                contours[item["whistle_ID"]] = Contour(item["time"], item["frequency"])
    ids = sorted(contours)
    truth = np.array([category[i] if category[i] else -1 - k for k, i in enumerate(ids)])
    return {
        "contours": [contours[i] for i in ids],
        "truth": truth,
        "groups": [recording.get(i, "?") for i in ids],
        "category": [category[i] for i in ids],
    }


def make_synthetic(seed: int, *, n_individuals: int = 20, n_each: int = 10, n_strays: int = 40):
    """Jittered, shifted and stretched renditions of synthetic types, plus stray contours."""
    rng = np.random.default_rng(seed)
    population = make_population(n_individuals, rng=rng, n_shared_types=6)
    types = [ind.signature_type for ind in population] + population[0].shared_types
    contours, truth = [], []
    for k, kind in enumerate(types):
        for _ in range(n_each):
            c = split_loops(render_rendition(kind, rng=rng))[0]
            shift = np.exp(rng.uniform(-1, 1) * np.log(1.06))
            stretch = np.exp(rng.uniform(-1, 1) * np.log(1.2))
            contours.append(Contour(c.times_s * stretch, c.freqs_hz * shift))
            truth.append(k)
    for k in range(n_strays):
        contours.append(random_contour(rng=rng))
        truth.append(-1 - k)
    return {"contours": contours, "truth": np.array(truth)}


def scores(truth: np.ndarray, labels: np.ndarray, seconds: float) -> dict:
    """ARI over all (noise as singletons), ARI over the clustered, coverage, types, time."""
    singletons = labels.copy()
    noise = labels < 0
    singletons[noise] = labels.max(initial=0) + 1 + np.arange(noise.sum())
    clustered = ~noise
    return {
        "ari": float(adjusted_rand_score(truth, singletons)),
        "ari_clustered": float(adjusted_rand_score(truth[clustered], labels[clustered]))
        if clustered.sum() > 1
        else float("nan"),
        "coverage": float(clustered.mean()),
        "n_types": int(np.unique(labels[clustered]).size),
        "seconds": round(seconds, 2),
    }


def run_dtw(contours: list[Contour], config: ClusterConfig) -> tuple[np.ndarray, float]:
    """Labels of DTW + HDBSCAN and the wall time."""
    start = time.perf_counter()
    labels = cluster_contours(contours, config=config).labels
    return labels, time.perf_counter() - start


def run_artwarp(contours: list[Contour], args) -> tuple[np.ndarray | None, float, str]:
    """ARTwarp labels (None when it cannot run), wall time, and a status line."""
    try:
        import contextlib
        import io

        quiet = io.StringIO()  # it prints its numba status on import
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            from artwarp import ARTwarp
    except ImportError as err:
        return None, 0.0, f"unavailable: {err} (pip install artwarp-py, the 'bench' extra)"
    inputs = []
    for c in contours:
        t = np.arange(c.times_s[0], c.times_s[-1] + 1e-9, ARTWARP_STEP_S)
        inputs.append(np.interp(t, c.times_s, c.freqs_hz) if t.size > 1 else c.freqs_hz.copy())
    network = ARTwarp(
        vigilance=args.artwarp_vigilance,
        learning_rate=0.1,
        max_categories=len(contours),
        max_iterations=args.artwarp_iterations,
        random_seed=args.seed,
        verbose=False,
    )
    start = time.perf_counter()
    try:
        result = network.fit(inputs)
    except Exception as err:  # report any failure of the third-party code, do not crash
        return None, time.perf_counter() - start, f"failed: {type(err).__name__}: {err}"
    labels = np.nan_to_num(result.categories, nan=-1).astype(int)
    status = (
        f"ok: vigilance {args.artwarp_vigilance}, {result.num_iterations} iteration(s), "
        f"{'converged' if result.converged else 'not converged'}"
    )
    return labels, time.perf_counter() - start, status


def compare(name: str, data: dict, args) -> dict:
    """Run every method on one data set; returns {method: scores} plus notes."""
    contours, truth = data["contours"], data["truth"]
    methods = {
        "dolphin": ClusterConfig(),
        "plain-dtw": ClusterConfig(dtw=DTWConfig(normalise_shift=False, stretch_weight=0.0)),
    }
    out: dict = {
        "n_contours": len(contours),
        "n_true_types": int(np.unique(truth[truth >= 0]).size),
    }
    labels_of = {}
    for method, config in methods.items():
        labels, seconds = run_dtw(contours, config)
        labels_of[method] = labels
        out[method] = scores(truth, labels, seconds)
    if args.no_artwarp:
        out["artwarp"] = {"status": "skipped (--no-artwarp)"}
    else:
        labels, seconds, status = run_artwarp(contours, args)
        out["artwarp"] = {"status": status}
        if labels is not None:
            out["artwarp"].update(scores(truth, labels, seconds))
    if "groups" in data:
        start = np.array([c.times_s[0] for c in contours])
        end = np.array([c.times_s[-1] for c in contours])
        ours = identify_signature_types(
            start, labels_of["dolphin"].tolist(), end_s=end, groups=data["groups"]
        )
        theirs = identify_signature_types(
            start, data["category"], end_s=end, groups=data["groups"], ignore=(0,)
        )
        out["sigid"] = {
            "dolphin_types": f"{len(ours.signature_types)} of {len(ours.types)}",
            "sigwi_categories": f"{len(theirs.signature_types)} of {len(theirs.types)}",
        }
    print(f"\n{name}: {out['n_contours']} contours, {out['n_true_types']} reference types")
    print(f"{'method':<10} {'ARI':>6} {'ARI(cl)':>8} {'cover':>6} {'types':>6} {'s':>7}")
    for method in ("dolphin", "plain-dtw", "artwarp"):
        s = out[method]
        if "ari" in s:
            print(
                f"{method:<10} {s['ari']:6.3f} {s['ari_clustered']:8.3f} {s['coverage']:6.2f} "
                f"{s['n_types']:6d} {s['seconds']:7.1f}"
            )
        else:
            print(f"{method:<10} {s['status']}")
    if "artwarp" in out and "ari" in out["artwarp"]:
        print(f"artwarp: {out['artwarp']['status']}")
    if "sigid" in out:
        print(
            f"SIGID signature types: dolphin {out['sigid']['dolphin_types']}, "
            f"SIGWI categories {out['sigid']['sigwi_categories']}"
        )
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sigwi", type=Path, default=SIGWI_DIR, help="SIGWI data folder")
    parser.add_argument("--max-contours", type=int, help="keep whole SIGWI categories up to N")
    parser.add_argument(
        "--unclustered", type=int, default=0, help="add N unclustered SIGWI contours"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-artwarp", action="store_true", help="skip ARTwarp")
    parser.add_argument("--artwarp-vigilance", type=float, default=96.0, help="percent, 1-99")
    parser.add_argument("--artwarp-iterations", type=int, default=6, help="training passes cap")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "whistle_types.json"
    )
    args = parser.parse_args(argv)
    result: dict = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "dolphin_config": repr(ClusterConfig()),
    }
    if (args.sigwi / "resources").is_dir():
        data = load_sigwi(
            args.sigwi, max_contours=args.max_contours, unclustered=args.unclustered, seed=args.seed
        )
        result["sigwi"] = compare("sigwi", data, args)
    else:
        note = f"skipped: SIGWI data not found at {args.sigwi}"
        print(f"\nsigwi: {note}")
        result["sigwi"] = {"status": note}
    result["synthetic"] = compare("synthetic", make_synthetic(args.seed), args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return result


if __name__ == "__main__":
    main()
