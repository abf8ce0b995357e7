"""``dolphin chat vocab``: design, record, list and render a CHAT whistle vocabulary.

    dolphin chat vocab create --n 6 --labels scarf,rope,sargassum,... --out VOCAB.json
                              [--render-dir DIR --sample-rate 96000] [--seed 0] [--catalogue C]
    dolphin chat vocab from-recordings a.wav b.wav --labels scarf,rope --out VOCAB.json
    dolphin chat vocab list VOCAB.json
    dolphin chat vocab render VOCAB.json --out DIR [--sample-rate 96000]

Extra KEY=VALUE arguments are Hydra overrides of conf/config.yaml (``chat.vocab.fmax_hz=18000``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dolphin.errors import DolphinError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Register ``chat vocab`` and its operations."""
    parser = subparsers.add_parser(
        "vocab",
        help="design, record, list or render a whistle vocabulary",
        description="A vocabulary is a JSON file of labelled whistle contours.",
    )
    ops = parser.add_subparsers(dest="operation", required=True, metavar="OPERATION")

    create = ops.add_parser("create", help="design whistles far from each other and from nature")
    create.add_argument("--n", type=int, help="number of entries (default chat.vocab.n = 6)")
    create.add_argument("--labels", help="comma-separated labels, one per entry")
    create.add_argument("--out", type=Path, required=True, help="vocabulary JSON to write")
    create.add_argument("--seed", type=int, help="seed of the design (chat.vocab.seed)")
    create.add_argument("--catalogue", type=Path, help="signature catalogue to keep away from")
    create.add_argument("--render-dir", type=Path, help="also write one WAV per entry here")
    create.add_argument("--sample-rate", type=int, default=96000, help="Hz of the WAVs")
    create.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="Hydra overrides")
    create.set_defaults(func=run_create)

    record = ops.add_parser("from-recordings", help="one entry per recording of one whistle")
    record.add_argument("recordings", type=Path, nargs="+", help="audio files, one whistle each")
    record.add_argument("--labels", required=True, help="comma-separated, one per recording")
    record.add_argument("--out", type=Path, required=True, help="vocabulary JSON to write")
    record.set_defaults(func=run_from_recordings)

    listing = ops.add_parser("list", help="print the entries and their separation")
    listing.add_argument("vocab", type=Path, help="vocabulary JSON")
    listing.set_defaults(func=run_list)

    render = ops.add_parser("render", help="write one WAV per entry (what the speaker plays)")
    render.add_argument("vocab", type=Path, help="vocabulary JSON")
    render.add_argument("--out", type=Path, required=True, help="output folder")
    render.add_argument("--sample-rate", type=int, default=96000, help="Hz")
    render.set_defaults(func=run_render)


def parse_labels(text: str | None) -> list[str] | None:
    """Split ``"scarf,rope"`` into labels; refuse empty ones."""
    if text is None:
        return None
    labels = [x.strip() for x in text.split(",")]
    if not all(labels):
        raise DolphinError(f"--labels has an empty label: {text!r}")
    return labels


def run_create(args: argparse.Namespace) -> int:
    """Design a vocabulary and write it (and optionally its renderings)."""
    from dolphin.chat.vocab import design_vocabulary
    from dolphin.config import load_config

    cfg = load_config(list(args.overrides)).chat.vocab
    labels = parse_labels(args.labels)
    n = args.n if args.n is not None else (len(labels) if labels else cfg.n)
    catalogue = None
    if args.catalogue is not None:
        from dolphin.detect.catalogue import SignatureCatalogue

        catalogue = SignatureCatalogue.load(args.catalogue)
    if args.render_dir is not None:
        _check_rate(args.sample_rate, cfg.fmax_hz)
    vocab = design_vocabulary(n, labels, catalogue=catalogue, config=cfg, seed=args.seed)
    vocab.save(args.out)
    report = vocab.report
    print(
        f"{len(vocab)} entries written to {args.out}: min distance between entries "
        f"{report.min_pairwise_semitones:.2f} semitones, to natural whistles "
        f"{report.min_natural_semitones:.2f} ({report.n_natural} compared)"
    )
    if args.render_dir is not None:
        _render(vocab, args.render_dir, args.sample_rate, cfg.peak)
    return 0


def run_from_recordings(args: argparse.Namespace) -> int:
    """Build a vocabulary from recordings of one whistle each."""
    from dolphin.chat.vocab import vocabulary_from_recordings

    vocab = vocabulary_from_recordings(args.recordings, parse_labels(args.labels))
    vocab.save(args.out)
    print(
        f"{len(vocab)} entries written to {args.out}: min distance between entries "
        f"{vocab.report.min_pairwise_semitones:.2f} semitones"
    )
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print one line per entry."""
    from dolphin.chat.vocab import Vocabulary

    vocab = Vocabulary.load(args.vocab)
    report = vocab.report
    print(f"{'label':<14} {'duration_s':>10} {'low_hz':>8} {'high_hz':>8}  nearest natural")
    for k, e in enumerate(vocab.entries):
        f = e.contour.freqs_hz
        near = f"{report.nearest_natural[k]} ({report.natural_semitones[k]:.2f})" if report else ""
        print(f"{e.label:<14} {e.duration_s:>10.3f} {f.min():>8.0f} {f.max():>8.0f}  {near}")
    if report is not None:
        print(
            f"min distance between entries {report.min_pairwise_semitones:.2f} semitones, "
            f"to natural whistles {report.min_natural_semitones:.2f}"
        )
    return 0


def run_render(args: argparse.Namespace) -> int:
    """Render every entry to ``<out>/<label>.wav``."""
    from dolphin.chat.vocab import Vocabulary

    vocab = Vocabulary.load(args.vocab)
    top = max(float(e.contour.freqs_hz.max()) for e in vocab.entries)
    _check_rate(args.sample_rate, top)
    _render(vocab, args.out, args.sample_rate, 0.5)
    return 0


def _check_rate(sample_rate: int, top_hz: float) -> None:
    if sample_rate <= 0 or top_hz >= 0.4 * sample_rate:
        raise DolphinError(
            f"--sample-rate {sample_rate} Hz cannot carry whistles up to {top_hz:.0f} Hz "
            f"(use at least {int(2.5 * top_hz) + 1} Hz)"
        )


def _render(vocab, out_dir: Path, sample_rate: int, peak: float) -> None:
    from dolphin.audio.io import write_audio

    out_dir.mkdir(parents=True, exist_ok=True)
    for label, samples in vocab.render(sample_rate, peak=peak).items():
        write_audio(out_dir / f"{label}.wav", samples, sample_rate)
    print(f"{len(vocab)} WAV files written to {out_dir} at {sample_rate} Hz")
