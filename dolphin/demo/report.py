"""The demo's Markdown report: what ran, tables of results, the figures and the files written."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from dolphin.demo.analysis import REPORTED_CLASSES, DetectionSummary, TypeSummary
from dolphin.demo.models import StepResult
from dolphin.demo.recording import DemoRecording
from dolphin.demo.rehearsal import ChatRehearsal


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _fmt(value: float, spec: str = ".2f") -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else format(value, spec)
    )


def _rel(path: Path, folder: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(folder.resolve()))
    except ValueError:
        return str(path)


def detection_lines(det: DetectionSummary, folder: Path) -> list[str]:
    """Markdown of the detection section: counts (and F1 against the labels) per class.

    Parameters
    ----------
    det : DetectionSummary
        Detection results.
    folder : Path
        The report folder (links are relative to it).

    Returns
    -------
    list of str
    """
    lines = [
        "## Detection",
        "",
        f"Detection chain of `dolphin detect`, classifier: `{det.classifier}`. "
        f"Raven selection table: [{_rel(det.table, folder)}]({_rel(det.table, folder)}).",
        "",
    ]
    if det.scores is None:
        rows = [[c, det.counts[c]] for c in REPORTED_CLASSES]
        rows.append(["all", sum(det.counts.values())])
        return lines + _table(["class", "detected"], rows)
    rows = []
    for c in REPORTED_CLASSES:
        s = det.scores[c]
        rows.append([c, s.n_true, s.n_pred, s.tp, _fmt(s.precision), _fmt(s.recall), _fmt(s.f1)])
    n_true = sum(s.n_true for s in det.scores.values())
    n_pred = sum(s.n_pred for s in det.scores.values())
    tp = sum(s.tp for s in det.scores.values())
    p, r = (tp / n_pred if n_pred else 0.0), (tp / n_true if n_true else 0.0)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    rows.append(["all", n_true, n_pred, tp, _fmt(p), _fmt(r), _fmt(f1)])
    header = ["class", "labelled", "detected", "matched", "precision", "recall", "F1"]
    note = ["", "Matched: same class, temporal IoU >= 0.3 (one to one, Hungarian)."]
    return lines + _table(header, rows) + note


def types_lines(types: TypeSummary) -> list[str]:
    """Markdown of the whistle-type section.

    Parameters
    ----------
    types : TypeSummary
        Clustering and SIGID results.

    Returns
    -------
    list of str
    """
    lines = ["## Whistle types", ""]
    n = len(types.contours)
    n_typed = int(np.sum(types.labels >= 0)) if n else 0
    lines.append(
        f"{n} whistle contours, {len(types.types)} types (DTW + HDBSCAN), {n - n_typed} "
        f"unclustered; signature types by the SIGID bout rule: "
        f"{', '.join(map(str, types.signature_types)) or 'none'}."
    )
    if types.note:
        lines += ["", types.note + "."]
    if types.types:
        truth = any(t.truth for t in types.types)
        header = ["type", "contours", "signature (SIGID)", "SIGID evidence"]
        header += ["true make-up (scene labels)"] if truth else []
        rows = []
        for t in types.types:
            row = [t.label, len(t.members), "yes" if t.signature else "no", t.evidence]
            rows.append(row + ([t.truth] if truth else []))
        lines += [""] + _table(header, rows)
    return lines + ["", "![whistle contours by type](contours_by_type.png)"]


def chat_lines(chat: ChatRehearsal, folder: Path) -> list[str]:
    """Markdown of the CHAT rehearsal section.

    Parameters
    ----------
    chat : ChatRehearsal
        Rehearsal results.
    folder : Path
        The report folder.

    Returns
    -------
    list of str
    """
    lat = chat.latencies_s
    naturals = [s for s in chat.sounds if s.label is None]
    summary = [
        ["vocabulary", ", ".join(chat.labels)],
        ["closest pair of entries", f"{_fmt(chat.min_pairwise_semitones)} semitones"],
        ["audio replayed", f"{chat.duration_s:.1f} s in {chat.wall_s:.1f} s"],
        ["imitations placed", len(chat.mimics)],
        ["recognised (right label)", f"{chat.n_hits} (recall {_fmt(chat.recall)})"],
        ["natural whistles placed", len(naturals)],
        ["false alarms", len(chat.false_alarms)],
        [
            "latency after the end of the sound",
            f"median {_fmt(float(np.median(lat)) if lat.size else None, '.3f')} s, "
            f"max {_fmt(float(lat.max()) if lat.size else None, '.3f')} s",
        ],
        ["session folder", _rel(chat.session_dir, folder)],
    ]
    rows = [
        [
            f"{s.start_s:.2f}-{s.end_s:.2f}",
            s.label or f"natural ({s.note})",
            s.found or "-",
            _fmt(s.latency_s, ".3f"),
        ]
        for s in chat.sounds
    ]
    rows += [
        [f"{d.start_s:.2f}-{d.end_s:.2f}", "(false alarm)", d.label, "-"] for d in chat.false_alarms
    ]
    return (
        ["## CHAT rehearsal", ""]
        + _table(["", "value"], summary)
        + [""]
        + _table(["span (s)", "placed", "recognised as", "latency (s)"], rows)
        + ["", "![CHAT timeline](chat_timeline.png)"]
    )


def write_report(
    folder: str | Path,
    *,
    recording: DemoRecording,
    steps: list[StepResult],
    detection: DetectionSummary,
    types: TypeSummary,
    chat: ChatRehearsal,
    timings_s: dict[str, float],
) -> Path:
    """Write ``<folder>/report.md``.

    Parameters
    ----------
    folder : str or Path
        The run folder; the figures ``scene.png``, ``contours_by_type.png`` and
        ``chat_timeline.png`` are expected there.
    recording : DemoRecording
        What was analysed.
    steps : list of StepResult
        Codec and LM outcomes.
    detection, types, chat
        Results of the other stages.
    timings_s : dict of str to float
        Wall time per stage, seconds.

    Returns
    -------
    Path
    """
    folder = Path(folder)
    lines = [
        "# dolphin demo",
        "",
        f"Recording: {recording.description} (`{_rel(recording.path, folder)}`).",
        "",
        "![scene with detections](scene.png)",
        "",
        "## Codec and language model",
        "",
    ]
    for step in steps:
        lines.append(f"- **{step.name}**: {step.message}")
        lines += [f"  - {k}: {v}" for k, v in step.details.items()]
    lines += [""] + detection_lines(detection, folder) + [""] + types_lines(types) + [""]
    lines += chat_lines(chat, folder) + ["", "## Run time", ""]
    rows = [[name, f"{s:.1f}"] for name, s in timings_s.items()]
    lines += _table(["stage", "seconds"], rows) + [""]
    path = folder / "report.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
