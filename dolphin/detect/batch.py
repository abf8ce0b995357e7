"""Detection over archives: one file or a folder, resumable, sharded across processes.

Folder mode walks ``in_dir`` recursively for audio files (:data:`AUDIO_SUFFIXES`, hidden files
skipped), sorts them, keeps every N-th one for shard ``I/N`` (``--shard`` or the ``RANK`` /
``WORLD_SIZE`` variables torchrun sets) and writes each recording's files (see
:mod:`dolphin.detect.outputs`) under the same relative folder in ``out_dir``.

Resuming: a recording's outputs are written atomically and then its ``.done`` marker, which
records the input size and a digest of the settings. A recording whose marker matches is
skipped; one killed half-way (no marker) or run with other settings is done again.

A bad recording (corrupt, empty, unsupported rate) is reported and skipped; the run goes on
and :class:`BatchReport` lists the failures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tqdm import tqdm

from dolphin.annotations import Event, _atomic_write_text
from dolphin.audio.io import audio_info
from dolphin.detect.outputs import OutputPaths, write_detections
from dolphin.detect.pipeline import Detections, DetectorConfig, detect_file
from dolphin.errors import DolphinError

if TYPE_CHECKING:
    from dolphin.detect.classifier import EventClassifier

#: File suffixes taken for audio in folder mode (case-insensitive).
AUDIO_SUFFIXES = (".wav", ".flac", ".w64", ".rf64")
#: Module that labels whistle events with signature types and animals (``--catalogue``).
CATALOGUE_MODULE = "dolphin.detect.catalogue"

Labeller = Callable[[list[Event]], list[Event]]


@dataclass
class BatchReport:
    """What a folder run did.

    Attributes
    ----------
    n_files : int
        Recordings in this shard.
    n_done, n_skipped : int
        Recordings processed now, and skipped as already done.
    n_events : int
        Events written now.
    failed : list of (Path, str)
        Recordings that could not be processed, with the reason.
    """

    n_files: int = 0
    n_done: int = 0
    n_skipped: int = 0
    n_events: int = 0
    failed: list[tuple[Path, str]] = field(default_factory=list)


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` -> ``(I, N)`` with ``0 <= I < N``; raises DolphinError otherwise."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise DolphinError(f"--shard must look like I/N (e.g. 0/4), got {text!r}") from None
    if not 0 <= index < count:
        raise DolphinError(f"--shard {text}: need 0 <= I < N")
    return index, count


def shard_from_env(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """``(RANK, WORLD_SIZE)`` as torchrun sets them; ``(0, 1)`` when they are absent."""
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return 0, 1
    return parse_shard(f"{env.get('RANK', '0')}/{env['WORLD_SIZE']}")


def find_recordings(in_dir: str | Path) -> list[Path]:
    """Audio files under ``in_dir`` (recursive, hidden ones skipped), sorted, relative."""
    root = Path(in_dir)
    return sorted(
        p.relative_to(root)
        for p in root.rglob("*")
        if p.suffix.lower() in AUDIO_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def settings_digest(config: DetectorConfig, *extra: str) -> str:
    """Short digest of everything that changes the outputs (``block_s`` does not)."""
    settings = dataclasses.asdict(config)
    settings.pop("block_s")
    text = json.dumps([settings, *extra], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def catalogue_labeller(path: str | Path) -> Labeller:
    """Hook for ``--catalogue``: label whistle events with the animal whose signature they match.

    Uses ``SignatureCatalogue.load(path)`` and ``.match_many(contours)`` of
    :data:`CATALOGUE_MODULE`. A matched whistle event gets ``individual`` = the animal id,
    ``whistle_type`` = ``sig-<animal id>`` (the synthetic scenes' signature type ids),
    ``signature`` = True and ``extra["Match Distance"]`` (semitones); other events are left as
    they are.

    Raises
    ------
    DolphinError
        The module (or the class) is missing, or the catalogue cannot be read.
    """
    if importlib.util.find_spec(CATALOGUE_MODULE) is None:
        raise DolphinError(
            f"--catalogue needs the module {CATALOGUE_MODULE}, which this installation lacks"
        )
    catalogue_class = getattr(importlib.import_module(CATALOGUE_MODULE), "SignatureCatalogue", None)
    if catalogue_class is None:
        raise DolphinError(f"--catalogue: {CATALOGUE_MODULE} has no SignatureCatalogue")
    catalogue = catalogue_class.load(path)

    def label(events: list[Event]) -> list[Event]:
        whistles = [e for e in events if e.contour is not None]
        for event, match in zip(
            whistles, catalogue.match_many([e.contour for e in whistles]), strict=True
        ):
            if match is not None:
                event.individual = match.animal_id
                event.whistle_type = f"sig-{match.animal_id}"
                event.signature = True
                event.extra["Match Distance"] = f"{match.distance:.3f}"
        return events

    return label


def detect_recording(
    audio: str | Path,
    paths: OutputPaths,
    config: DetectorConfig,
    *,
    formats: tuple[str, ...] = ("raven",),
    labeller: Labeller | None = None,
    progress: bool = False,
    classifier: EventClassifier | None = None,
) -> Detections:
    """Detect in one recording and write its files (table, contours, CSV / JSON if asked).

    Parameters
    ----------
    audio : str or Path
        The recording.
    paths : OutputPaths
        Where its files go; the folder is created.
    config : DetectorConfig
        Detector settings.
    formats : tuple of str
        Extra formats, see :func:`~dolphin.detect.outputs.write_detections`.
    labeller : callable, optional
        Applied to the events before writing (:func:`catalogue_labeller`).
    progress : bool
        Show a progress bar in seconds of audio.
    classifier : EventClassifier, optional
        Second stage (:mod:`dolphin.detect.refine`) applied to the SP detections; skipped for
        recordings below its ``min_sample_rate``.

    Returns
    -------
    Detections
    """
    total_s = round(audio_info(audio).duration_s, 1)  # a bad file fails before the bar shows
    with tqdm(total=total_s, unit="s", desc=Path(audio).name, disable=not progress) as bar:
        found = detect_file(audio, config, on_block=lambda done, _: bar.update(done - bar.n))
    if classifier is not None and found.sample_rate >= classifier.config.min_sample_rate:
        from dolphin.detect.refine import file_probabilities, refine_detections

        probs = file_probabilities(
            audio, classifier, channel=config.channel, block_s=config.block_s
        )
        found = refine_detections(found, probs, classifier.config, channel=config.channel + 1)
    if labeller is not None:
        found.events = labeller(found.events)
    paths.table.parent.mkdir(parents=True, exist_ok=True)
    write_detections(paths, found, formats=formats, source=audio)
    return found


def is_done(paths: OutputPaths, audio: Path, digest: str) -> bool:
    """True when ``audio``'s marker exists and matches its size and the settings digest."""
    try:
        marker = json.loads(paths.done.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return marker.get("size") == audio.stat().st_size and marker.get("settings") == digest


def run_folder(
    in_dir: str | Path,
    out_dir: str | Path,
    config: DetectorConfig,
    *,
    formats: tuple[str, ...] = ("raven",),
    shard: tuple[int, int] = (0, 1),
    labeller: Labeller | None = None,
    labeller_id: str = "",
    progress: bool = True,
    classifier: EventClassifier | None = None,
    classifier_id: str = "",
) -> BatchReport:
    """Detect in every recording of a folder (this shard's share), skipping finished ones.

    Parameters
    ----------
    in_dir, out_dir : str or Path
        Input folder (searched recursively) and output folder (created).
    config : DetectorConfig
        Detector settings.
    formats : tuple of str
        Extra formats, see :func:`~dolphin.detect.outputs.write_detections`.
    shard : (int, int)
        ``(I, N)``: this process takes recordings ``I, I + N, I + 2N, ...`` of the sorted list.
    labeller : callable, optional
        Applied to each recording's events before writing.
    labeller_id : str
        Names the labeller in the settings digest (e.g. the catalogue path).
    progress : bool
        Show a progress bar over recordings.
    classifier : EventClassifier, optional
        Second stage applied to each recording's SP detections.
    classifier_id : str
        Names the classifier in the settings digest (shipped name or folder).

    Returns
    -------
    BatchReport

    Raises
    ------
    DolphinError
        ``in_dir`` is not a folder or holds no audio files.
    """
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise DolphinError(f"{in_dir}: not a folder")
    every = find_recordings(in_dir)
    if not every:
        raise DolphinError(f"{in_dir}: no audio files ({', '.join(AUDIO_SUFFIXES)})")
    index, count = shard
    mine = every[index::count]
    digest = settings_digest(
        config, *formats, labeller_id, *([classifier_id] if classifier else [])
    )
    report = BatchReport(n_files=len(mine))
    for rel in tqdm(mine, desc="detect", unit="file", disable=not progress):
        audio = in_dir / rel
        paths = OutputPaths.for_recording(out_dir / rel.parent, rel.stem)
        if is_done(paths, audio, digest):
            report.n_skipped += 1
            continue
        try:
            found = detect_recording(
                audio, paths, config, formats=formats, labeller=labeller, classifier=classifier
            )
        except DolphinError as err:
            reason = str(err)
            report.failed.append((audio, reason if str(audio) in reason else f"{audio}: {reason}"))
            continue
        marker = {
            "input": str(rel),
            "size": audio.stat().st_size,
            "settings": digest,
            "n_events": len(found.events),
            "duration_s": found.duration_s,
        }
        _atomic_write_text(paths.done, json.dumps(marker) + "\n")
        report.n_done += 1
        report.n_events += len(found.events)
    return report
