"""``dolphin demo``: the whole package on one short recording, ending in a Markdown report.

:func:`run_demo` builds (or opens) a recording, round-trips it through the codec and continues it
with the LM when those ship, detects and tags events, finds whistle types, rehearses a CHAT
session, and writes ``<out_root>/<run_name>/report.md`` with its figures. ``dolphin demo`` and
``python -m dolphin.demo.app`` (a Hydra app: ``-m`` sweeps work) both end up here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from dolphin.demo.config import DemoAppConfig


@dataclass
class DemoResult:
    """Where a demo run wrote its files, and its headline numbers.

    Attributes
    ----------
    folder : Path
        The run folder.
    report : Path
        ``report.md``.
    raven_table : Path
        The Raven selection table of the detections.
    figures : list of Path
        The PNG files.
    n_events : int
        Events detected.
    n_types : int
        Whistle types found.
    chat_recall : float
        Share of CHAT imitations recognised, in [0, 1].
    n_false_alarms : int
        CHAT false alarms.
    step_lines : list of str
        Codec and LM outcome lines.
    timings_s : dict of str to float
        Wall time per stage, seconds.
    """

    folder: Path
    report: Path
    raven_table: Path
    figures: list[Path] = field(default_factory=list)
    n_events: int = 0
    n_types: int = 0
    chat_recall: float = float("nan")
    n_false_alarms: int = 0
    step_lines: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)


def run_folder(out_root: str | Path, run_name: str = "") -> Path:
    """A new run folder ``<out_root>/<run_name>``; a UTC time stamp when no name is given.

    Parameters
    ----------
    out_root : str or Path
        Parent folder.
    run_name : str
        Folder name; "" for ``YYYYmmddTHHMMSSZ`` (``-2``, ``-3``, ... appended when taken).

    Returns
    -------
    Path
        The folder (created; a named one may exist already and is reused).
    """
    root = Path(out_root)
    if run_name:
        folder = root / run_name
    else:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        folder, k = root / stamp, 2
        while folder.exists():
            folder, k = root / f"{stamp}-{k}", k + 1
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def run_demo(config: DemoAppConfig, *, say: Callable[[str], None] = print) -> DemoResult:
    """Run every stage of the demo and write the report.

    Parameters
    ----------
    config : DemoAppConfig
        ``demo`` (input, models, CHAT rehearsal, output folder), ``synth`` (the scene),
        ``detect`` and ``chat``.
    say : callable
        Receives one line per finished stage (the console).

    Returns
    -------
    DemoResult

    Raises
    ------
    dolphin.errors.AudioFileError
        ``demo.input`` is missing, empty, corrupt or too short.
    """
    from dolphin.demo import figures
    from dolphin.demo.analysis import detect_events, whistle_types
    from dolphin.demo.models import codec_step, lm_step, load_codec_or_none
    from dolphin.demo.recording import input_recording, synthetic_recording
    from dolphin.demo.rehearsal import rehearse_chat
    from dolphin.demo.report import write_report

    demo = config.demo
    timings: dict[str, float] = {}
    tick = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - tick[0]
        tick[0] = now

    if demo.input:  # checked before anything is written
        recording = input_recording(demo.input, channel=demo.input_channel, max_s=demo.plot_max_s)
        folder = run_folder(demo.out_root, demo.run_name)
    else:
        folder = run_folder(demo.out_root, demo.run_name)
        recording = synthetic_recording(config.synth, folder, max_s=demo.plot_max_s)
    say(f"[1/6] recording: {recording.description}")
    lap("recording")

    codec, reason = load_codec_or_none(demo.codec)
    steps = [
        codec_step(
            recording,
            codec,
            skip_reason=reason,
            clip_s=demo.codec_clip_s,
            folder=folder,
            detect=config.detect,
        )
    ]
    say(f"[2/6] {steps[0].line}")
    lap("codec")
    steps.append(
        lm_step(
            recording,
            demo.lm,
            codec,
            prompt_s=demo.lm_prompt_s,
            continue_s=demo.lm_continue_s,
            folder=folder,
            seed=demo.seed,
        )
    )
    say(f"[3/6] {steps[1].line}")
    lap("LM")

    detection = detect_events(
        recording, config.detect, folder, classifier=demo.classifier, progress=config.progress
    )
    counts = ", ".join(f"{n} {c}" for c, n in detection.counts.items() if n)
    f1 = ""
    if detection.scores is not None:
        f1 = "; F1 vs labels: " + ", ".join(
            f"{c} {s.f1:.2f}" for c, s in detection.scores.items() if s.n_true or s.n_pred
        )
    say(
        f"[4/6] detection (classifier: {detection.classifier}): "
        f"{len(detection.found.events)} events ({counts or 'none'}){f1}; "
        f"Raven table {detection.table}"
    )
    lap("detection")

    types = whistle_types(
        [c.contour for c in detection.found.contours],
        min_cluster_size=demo.min_cluster_size,
        truth=recording.truth,
    )
    say(
        f"[5/6] whistle types: {len(types.contours)} contours, {len(types.types)} types, "
        f"signature (SIGID): {types.signature_types or 'none'}"
        + (f" ({types.note})" if types.note else "")
    )
    lap("whistle types")

    chat = rehearse_chat(
        config.chat,
        folder / "chat",
        labels=list(demo.chat_labels),
        repeats=demo.chat_repeats,
        n_naturals=demo.chat_naturals,
        snr_db=demo.chat_snr_db,
        seed=demo.seed,
    )
    lat = chat.latencies_s
    say(
        f"[6/6] CHAT rehearsal: {chat.n_hits}/{len(chat.mimics)} imitations recognised "
        f"(recall {chat.recall:.2f}), {len(chat.false_alarms)} false alarm(s), "
        + (f"median latency {1000 * float(np.median(lat)):.0f} ms" if lat.size else "no hits")
        + f"; session log {chat.session_dir / 'events.jsonl'}"
    )
    lap("CHAT")

    pngs = [
        figures.scene_figure(recording, detection.found.events, folder / "scene.png"),
        figures.types_figure(types, folder / "contours_by_type.png"),
        figures.chat_figure(chat, folder / "chat_timeline.png"),
    ]
    lap("figures")
    report = write_report(
        folder,
        recording=recording,
        steps=steps,
        detection=detection,
        types=types,
        chat=chat,
        timings_s=timings,
    )
    return DemoResult(
        folder=folder,
        report=report,
        raven_table=detection.table,
        figures=pngs,
        n_events=len(detection.found.events),
        n_types=len(types.types),
        chat_recall=chat.recall,
        n_false_alarms=len(chat.false_alarms),
        step_lines=[s.line for s in steps],
        timings_s=timings,
    )


def main() -> None:
    """Hydra entry point (``python -m dolphin.demo.app [KEY=VALUE ...]``)."""
    import hydra

    from dolphin.config import conf_dir
    from dolphin.demo.config import CONFIG_NAME, demo_config_from, register_demo_config

    register_demo_config()

    @hydra.main(config_path=str(conf_dir()), config_name=CONFIG_NAME, version_base="1.3")
    def _app(cfg: Any) -> None:
        result = run_demo(demo_config_from(cfg))
        print(f"report: {result.report}")

    _app()


if __name__ == "__main__":
    main()
