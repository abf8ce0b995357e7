"""The demo's figures: scene with detections, whistle contours by type, CHAT timeline (PNG).

Each function draws one figure with :func:`dolphin.audio.plot.plot_spectrogram` underneath and
saves it; none opens a window (matplotlib's object API, no pyplot state).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from dolphin.annotations import Event
from dolphin.audio.plot import label_colour, plot_spectrogram
from dolphin.demo.analysis import TypeSummary
from dolphin.demo.recording import DemoRecording
from dolphin.demo.rehearsal import ChatRehearsal

#: Resolution of the saved figures, dots per inch.
DPI = 100
#: Highest frequency drawn, Hz: whistles and most pulsed energy of a 96 kHz recording.
FMAX_HZ = 48000.0


def _spectrogram_params(sample_rate: int, duration_s: float) -> dict:
    """STFT of ~10 ms windows, hopped so that a long view stays ~4000 columns wide."""
    n_fft = int(2 ** round(np.log2(0.01 * sample_rate)))
    hop = max(n_fft // 4, int(duration_s * sample_rate / 2500))
    return {"n_fft": n_fft, "hop_length": hop}


def scene_figure(recording: DemoRecording, detections: list[Event], path: str | Path) -> Path:
    """Spectrogram of the recording's first seconds with the detections drawn on top.

    Parameters
    ----------
    recording : DemoRecording
        Its ``head`` ([T] at ``sample_rate`` Hz) is drawn; with a synthetic scene the labels
        get a panel of their own above the detections.
    detections : list of Event
        Detected events (recording seconds, Hz); whistle contours are drawn too.
    path : str or Path
        PNG to write.

    Returns
    -------
    Path
    """
    sr = recording.sample_rate
    shown_s = recording.head.size / sr
    panels = [("detections", detections)]
    if recording.truth is not None:
        panels.insert(0, ("scene labels (ground truth)", recording.truth))
    fig = Figure(figsize=(14, 3.6 * len(panels)), layout="constrained")
    for k, (name, events) in enumerate(panels):
        ax = fig.add_subplot(len(panels), 1, k + 1)
        visible = [e for e in events if e.start_s < shown_s]
        plot_spectrogram(
            recording.head,
            sample_rate=sr,
            ax=ax,
            fmax_hz=min(FMAX_HZ, sr / 2),
            events=visible,
            contours=[e.contour for e in visible if e.contour is not None],
            title=f"{name}: {len(visible)} events in the first {shown_s:.0f} s",
            **_spectrogram_params(sr, shown_s),
        )
    return _save(fig, path)


def types_figure(types: TypeSummary, path: str | Path, *, max_types: int = 8) -> Path:
    """Whistle contours grouped by type, each drawn from its own start (one panel per type).

    Parameters
    ----------
    types : TypeSummary
        Contours (seconds, Hz) and their type labels.
    path : str or Path
        PNG to write.
    max_types : int
        Panels drawn at most; unclustered contours get a last panel.

    Returns
    -------
    Path
    """
    groups = [
        (f"type {t.label}" + (" (signature)" if t.signature else ""), t.members, t.exemplar)
        for t in types.types[:max_types]
    ]
    noise = [i for i, label in enumerate(types.labels) if label < 0]
    if noise or not groups:
        groups.append(("no type", noise, None))
    n_cols = min(4, len(groups))
    n_rows = -(-len(groups) // n_cols)
    fig = Figure(figsize=(3.6 * n_cols, 2.8 * n_rows), layout="constrained")
    for k, (title, members, exemplar) in enumerate(groups):
        ax = fig.add_subplot(n_rows, n_cols, k + 1)
        for i in members:
            c = types.contours[i]
            best = i == exemplar
            ax.plot(
                c.times_s - c.times_s[0],
                c.freqs_hz / 1000,
                color="black" if best else ("tab:gray" if exemplar is None else "tab:blue"),
                linewidth=2.0 if best else 1.0,
                alpha=1.0 if best else 0.6,
            )
        ax.set_title(f"{title}: {len(members)} contours", fontsize=9)
        ax.set_xlabel("time from start (s)")
        ax.set_ylabel("frequency (kHz)")
    if types.note:
        fig.suptitle(types.note, fontsize=9)
    return _save(fig, path)


def chat_figure(rehearsal: ChatRehearsal, path: str | Path) -> Path:
    """CHAT timeline: the rehearsal file's spectrogram, placed sounds and decisions.

    Imitations are shaded green (red when missed), natural whistles grey; every accepted
    detection is marked at its decision time with its label (red for false alarms).

    Parameters
    ----------
    rehearsal : ChatRehearsal
        The rehearsal (its ``audio_path`` is read).
    path : str or Path
        PNG to write.

    Returns
    -------
    Path
    """
    from dolphin.audio.io import read_audio

    audio = read_audio(rehearsal.audio_path, channels=0)
    sr = audio.sample_rate
    x = audio.samples[0]
    fig = Figure(figsize=(14, 4.5), layout="constrained")
    ax = fig.add_subplot()
    plot_spectrogram(
        x,
        sample_rate=sr,
        ax=ax,
        fmin_hz=2000.0,
        fmax_hz=min(26000.0, sr / 2),
        title=(
            f"CHAT rehearsal: {rehearsal.n_hits}/{len(rehearsal.mimics)} imitations recognised, "
            f"{len(rehearsal.false_alarms)} false alarm(s)"
        ),
        **_spectrogram_params(sr, x.size / sr),
    )
    for s in rehearsal.sounds:
        if s.label is None:
            colour, text = "lightgray", "natural"
        else:
            colour, text = ("limegreen" if s.found == s.label else "red"), s.label
        ax.axvspan(s.start_s, s.end_s, color=colour, alpha=0.25)
        ax.text(s.start_s, 24.5, text, color=colour, fontsize=8, va="top", clip_on=True)
    false = {id(d) for d in rehearsal.false_alarms}
    for d in rehearsal.detections:
        if not d.accepted:
            continue
        colour = "red" if id(d) in false else label_colour("whistle")
        ax.axvline(d.detected_at_s, color=colour, linestyle="--", linewidth=1.0)
        ax.text(d.detected_at_s, 3.0, f" {d.label}", color=colour, fontsize=8, clip_on=True)
    return _save(fig, path)


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    return path
