"""``dolphin whistles``: cluster whistle contours into types and keep a signature catalogue.

    dolphin whistles cluster CONTOURS.jsonl[.gz] --out TYPES.csv [--sigid]
    dolphin whistles catalogue add CATALOGUE.json ANIMAL CONTOURS.jsonl [--ids 3 7] [--note TEXT]
    dolphin whistles catalogue remove CATALOGUE.json ANIMAL
    dolphin whistles catalogue list CATALOGUE.json
    dolphin whistles catalogue match CATALOGUE.json CONTOURS.jsonl [--out MATCHES.csv]

Contour files hold one ``{"id", "time": [s], "frequency": [Hz]}`` JSON object per line.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register the ``whistles`` subcommand and its actions."""
    parser = subparsers.add_parser(
        "whistles",
        help="whistle contour types, SIGID and a signature whistle catalogue",
        description="Cluster whistle contours into contour types (DTW + HDBSCAN), flag "
        "signature types by the SIGID bout rule, and match contours to known animals.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    cluster = actions.add_parser("cluster", help="cluster contours into whistle contour types")
    cluster.add_argument("contours", type=Path, help="contour file (.jsonl or .jsonl.gz)")
    cluster.add_argument("--out", type=Path, required=True, help="output CSV, one row per contour")
    cluster.add_argument("--min-cluster-size", type=int, help="smallest type (default 4)")
    cluster.add_argument("--min-samples", type=int, help="HDBSCAN min_samples (default 3)")
    cluster.add_argument("--method", choices=("eom", "leaf"), help="HDBSCAN cluster selection")
    cluster.add_argument(
        "--loop", choices=("first", "whole"), help="part of multi-loop contours compared (first)"
    )
    cluster.add_argument(
        "--sigid",
        action="store_true",
        help="add a signature column by the SIGID bout rule (contour times on one time axis)",
    )
    cluster.set_defaults(func=run_cluster)

    catalogue = actions.add_parser("catalogue", help="signature whistle catalogue of known animals")
    ops = catalogue.add_subparsers(dest="operation", required=True, metavar="OPERATION")
    add = ops.add_parser("add", help="add exemplar whistles of an animal (creates the file)")
    add.add_argument("catalogue", type=Path, help="catalogue JSON file")
    add.add_argument("animal", help="animal id")
    add.add_argument("contours", type=Path, help="contour file with the animal's whistles")
    add.add_argument("--ids", nargs="+", help="only these contour ids (default: all)")
    add.add_argument("--note", help="free text stored with the animal")
    add.add_argument("--threshold", type=float, help="match threshold, semitones (new file)")
    add.set_defaults(func=run_add)
    remove = ops.add_parser("remove", help="remove an animal")
    remove.add_argument("catalogue", type=Path)
    remove.add_argument("animal")
    remove.set_defaults(func=run_remove)
    listing = ops.add_parser("list", help="list the animals")
    listing.add_argument("catalogue", type=Path)
    listing.set_defaults(func=run_list)
    match = ops.add_parser("match", help="match contours to the catalogued animals")
    match.add_argument("catalogue", type=Path)
    match.add_argument("contours", type=Path, help="contour file")
    match.add_argument("--threshold", type=float, help="semitones (default: the catalogue's)")
    match.add_argument("--out", type=Path, help="CSV output (default: print to stdout)")
    match.set_defaults(func=run_match)


def run_cluster(args: argparse.Namespace) -> int:
    """Cluster a contour file and write one CSV row per contour."""
    import numpy as np

    from dolphin.detect.catalogue import read_contour_jsonl
    from dolphin.detect.clustering import ClusterConfig, cluster_contours
    from dolphin.detect.dtw import DTWConfig
    from dolphin.detect.sigid import identify_signature_types
    from dolphin.errors import ConfigError

    chosen = {
        "min_cluster_size": args.min_cluster_size,
        "min_samples": args.min_samples,
        "cluster_selection_method": args.method,
    }
    try:
        dtw = DTWConfig(loop=args.loop) if args.loop else DTWConfig()
        config = ClusterConfig(dtw=dtw, **{k: v for k, v in chosen.items() if v is not None})
    except ValueError as err:
        raise ConfigError(str(err)) from err
    records = read_contour_jsonl(args.contours)
    types = cluster_contours([r.contour for r in records], config=config)
    starts = np.array([r.contour.times_s[0] for r in records])
    ends = np.array([r.contour.times_s[-1] for r in records])
    columns = ["id", "type", "probability", "exemplar", "start_s", "duration_s"]
    signature = None
    if args.sigid:
        result = identify_signature_types(starts, types.labels.tolist(), end_s=ends)
        signature = set(result.signature_types)
        columns.append("signature")
    exemplars = set(types.exemplars.tolist())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for i, record in enumerate(records):
            label = int(types.labels[i])
            row = [record.id, label, f"{types.probabilities[i]:.3f}", int(i in exemplars)]
            row += [f"{starts[i]:.3f}", f"{ends[i] - starts[i]:.3f}"]
            if signature is not None:
                row.append(int(label in signature))
            writer.writerow(row)
    print(
        f"{len(records)} contours: {types.n_types} types, {types.n_noise} unclustered; "
        f"wrote {args.out}"
    )
    if signature is not None:
        print(f"signature types (SIGID): {sorted(signature) or 'none'}")
    return 0


def _load_or_new(path: Path, threshold: float | None):
    """The catalogue at ``path``, or a new one when the file does not exist yet."""
    from dolphin.detect.catalogue import DEFAULT_THRESHOLD, SignatureCatalogue

    if path.exists():
        return SignatureCatalogue.load(path)
    return SignatureCatalogue(threshold=threshold if threshold is not None else DEFAULT_THRESHOLD)


def run_add(args: argparse.Namespace) -> int:
    """Add an animal's whistles from a contour file."""
    from dolphin.detect.catalogue import CatalogueError, read_contour_jsonl

    catalogue = _load_or_new(args.catalogue, args.threshold)
    records = read_contour_jsonl(args.contours)
    if args.ids:
        by_id = {str(r.id): r for r in records}
        unknown = [i for i in args.ids if i not in by_id]
        if unknown:
            raise CatalogueError(args.contours, f"no contour with id(s) {', '.join(unknown)}")
        records = [by_id[i] for i in args.ids]
    entry = catalogue.add(args.animal, [r.contour for r in records], note=args.note)
    catalogue.save(args.catalogue)
    print(f"{args.animal}: {len(entry.whistles)} whistle(s) in {args.catalogue}")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Remove an animal."""
    from dolphin.detect.catalogue import CatalogueError, SignatureCatalogue

    catalogue = SignatureCatalogue.load(args.catalogue)
    try:
        catalogue.remove(args.animal)
    except CatalogueError as err:
        raise CatalogueError(args.catalogue, err.problem) from err
    catalogue.save(args.catalogue)
    print(f"removed {args.animal} from {args.catalogue}")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print one line per animal."""
    from dolphin.detect.catalogue import SignatureCatalogue

    catalogue = SignatureCatalogue.load(args.catalogue)
    print(f"{len(catalogue)} animal(s), threshold {catalogue.threshold:g} semitones")
    for animal in catalogue.animals():
        entry = catalogue[animal]
        note = f"  {entry.note}" if entry.note else ""
        print(f"{animal}\t{len(entry.whistles)} whistle(s){note}")
    return 0


def run_match(args: argparse.Namespace) -> int:
    """Match every contour of a file; rows give the nearest animal and whether it matches."""
    from dolphin.detect.catalogue import SignatureCatalogue, read_contour_jsonl

    catalogue = SignatureCatalogue.load(args.catalogue)
    threshold = catalogue.threshold if args.threshold is None else args.threshold
    records = read_contour_jsonl(args.contours)
    nearest = catalogue.match_many([r.contour for r in records], threshold=math.inf)
    handle = open(args.out, "w", newline="") if args.out else sys.stdout
    try:
        writer = csv.writer(handle)
        writer.writerow(["id", "animal", "distance", "nearest", "nearest_distance"])
        for record, hit in zip(records, nearest, strict=True):
            near = hit.animal_id if hit else ""
            dist = f"{hit.distance:.3f}" if hit else ""
            ok = hit is not None and hit.distance <= threshold
            writer.writerow([record.id, near if ok else "", dist if ok else "", near, dist])
    finally:
        if args.out:
            handle.close()
    n_hits = sum(h is not None and h.distance <= threshold for h in nearest)
    print(f"{n_hits} of {len(records)} contours matched a catalogued animal", file=sys.stderr)
    return 0
