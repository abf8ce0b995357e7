"""Write a synthetic dataset to disk: WAV files, Raven selection tables, contours and a manifest.

File ``i`` is the scene made with :func:`~dolphin.synth.scene.derive_seed` ``(config.seed, i)``.
It is named by a synthetic recorder-style start time, ``config.start_utc`` plus ``i`` times the
file duration, so that start-time parsing works on it::

    <out_dir>/scene_0000_20250701T000000Z.wav
    <out_dir>/scene_0000_20250701T000000Z.Table.1.selections.txt
    <out_dir>/scene_0000_20250701T000000Z.Table.1.selections.contours.jsonl   (whistle contours)
    <out_dir>/manifest.json

Everything written is a pure function of the config: the same config gives the same bytes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tqdm import tqdm

import dolphin
from dolphin.annotations import EVENT_CLASSES, contours_path, write_raven
from dolphin.audio.io import write_audio
from dolphin.errors import DolphinError
from dolphin.synth.scene import SceneConfig, derive_seed, make_scene

MANIFEST_NAME = "manifest.json"


@dataclass
class ManifestFile:
    """One written scene.

    Attributes
    ----------
    audio, table : str
        File names (relative to the dataset folder) of the WAV file and its selection table.
    contours : str or None
        Contour sidecar name, when the scene has whistles.
    start_utc : str
        Synthetic recording start, ISO 8601 UTC.
    seed : int
        Seed of the scene's events and noise.
    gain : float
        Linear gain applied to keep the headroom (1.0 when none was needed).
    event_counts : dict of str to int
        Events per class.
    dropped : dict of str to int
        Events per class that found no free place in the scene.
    """

    audio: str
    table: str
    contours: str | None
    start_utc: str
    seed: int
    gain: float
    event_counts: dict[str, int]
    dropped: dict[str, int]


@dataclass
class Manifest:
    """What :func:`write_dataset` wrote (also saved as ``manifest.json``).

    Attributes
    ----------
    out_dir : str
        Dataset folder.
    sample_rate : int
        Hz.
    duration_s : float
        Length of each file, seconds.
    n_channels : int
        Channels per file.
    seed : int
        Config seed the file seeds derive from.
    files : list of ManifestFile
        One entry per scene, in order.
    event_counts : dict of str to int
        Events per class over all files.
    config : dict
        The full :class:`SceneConfig`.
    version : str
        ``dolphin.__version__`` that wrote the dataset.
    """

    out_dir: str
    sample_rate: int
    duration_s: float
    n_channels: int
    seed: int
    files: list[ManifestFile] = field(default_factory=list)
    event_counts: dict[str, int] = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    version: str = dolphin.__version__

    def to_json(self) -> str:
        """The manifest as indented JSON text (``out_dir`` is left out, so copies compare equal)."""
        data = dataclasses.asdict(self)
        data.pop("out_dir")
        return json.dumps(data, indent=2) + "\n"


def file_start(config: SceneConfig, index: int) -> datetime:
    """Synthetic UTC start time of file ``index`` (whole seconds)."""
    start = datetime.strptime(config.start_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return start + timedelta(seconds=int(index * config.duration_s))


def write_dataset(
    out_dir: str | Path, config: SceneConfig, *, n_files: int = 1, progress: bool = True
) -> Manifest:
    """Render ``n_files`` scenes and write audio, selection tables and a manifest.

    Parameters
    ----------
    out_dir : str or Path
        Dataset folder (created if needed). Existing files of the same names are replaced.
    config : SceneConfig
        Generator settings; file ``i`` uses seed ``derive_seed(config.seed, i)``.
    n_files : int
        Number of scenes.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Manifest
        Also written to ``<out_dir>/manifest.json``.

    Raises
    ------
    DolphinError
        ``n_files`` < 1, or a file cannot be written (:class:`AudioFileError`,
        :class:`AnnotationError`).
    """
    if n_files < 1:
        raise DolphinError(f"n_files must be >= 1, got {n_files}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    manifest = Manifest(
        out_dir=str(out),
        sample_rate=config.sample_rate,
        duration_s=config.duration_s,
        n_channels=config.n_channels,
        seed=config.seed,
        config=dataclasses.asdict(config),
        event_counts=dict.fromkeys(EVENT_CLASSES, 0),
    )
    for index in tqdm(range(n_files), desc="synth", unit="file", disable=not progress):
        start = file_start(config, index)
        stem = f"scene_{index:04d}_{start:%Y%m%dT%H%M%S}Z"
        scene = make_scene(config, seed=derive_seed(config.seed, index))
        write_audio(out / f"{stem}.wav", scene.samples, config.sample_rate, subtype=config.subtype)
        table = write_raven(out / f"{stem}.Table.1.selections.txt", scene.events)
        sidecar = contours_path(table)
        counts = dict.fromkeys(EVENT_CLASSES, 0)
        for event in scene.events:
            counts[event.label] += 1
            manifest.event_counts[event.label] += 1
        manifest.files.append(
            ManifestFile(
                audio=f"{stem}.wav",
                table=table.name,
                contours=sidecar.name if sidecar.is_file() else None,
                start_utc=f"{start:%Y-%m-%dT%H:%M:%S}Z",
                seed=scene.seed,
                gain=scene.gain,
                event_counts=counts,
                dropped=dict(sorted(scene.dropped.items())),
            )
        )
    target = out / MANIFEST_NAME
    tmp = out / f".{MANIFEST_NAME}.{secrets.token_hex(4)}.tmp"
    tmp.write_text(manifest.to_json(), encoding="utf-8")
    os.replace(tmp, target)
    return manifest
