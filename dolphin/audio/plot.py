"""Spectrogram figures for notebooks and reports, with labelled events and whistle contours.

Only the object-oriented matplotlib API is used (no ``pyplot``), so plotting works headless with
the Agg backend and creates no global figure state. Without an ``ax`` a new
:class:`matplotlib.figure.Figure` is made; show it in a notebook with ``ax.figure`` or save it
with ``ax.figure.savefig("spec.png")``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dolphin.annotations import EVENT_CLASSES, Contour, Event
from dolphin.audio.io import Audio
from dolphin.audio.spectral import Spectrogram, pcen, power_spectrogram, power_to_db

_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)  # matplotlib's tab10
_CONTOUR_COLOUR = "#00e5ff"


def label_colour(label: str) -> str:
    """Colour of an event label: fixed for the package's event classes, stable for others.

    Parameters
    ----------
    label : str
        Event label.

    Returns
    -------
    str
        Hex colour.
    """
    if label in EVENT_CLASSES:
        return _PALETTE[EVENT_CLASSES.index(label)]
    return _PALETTE[len(EVENT_CLASSES) + zlib.crc32(label.encode()) % (10 - len(EVENT_CLASSES))]


def _to_spectrogram(
    data: np.ndarray | Audio | Spectrogram,
    sample_rate: int | None,
    channel: int,
    n_fft: int,
    hop_length: int | None,
) -> tuple[Spectrogram, np.ndarray, float]:
    """The spectrogram, its 2-D power ``[F, N]`` for ``channel`` and the time offset in s."""
    offset_s = 0.0
    if isinstance(data, Audio):
        offset_s = data.start_s
        sample_rate, data = data.sample_rate, data.samples
    if isinstance(data, Spectrogram):
        spec = data
    else:
        if sample_rate is None:
            raise ValueError("sample_rate is needed to plot a sample array")
        samples = np.asarray(data)
        if samples.ndim == 2:
            samples = samples[channel]
        elif samples.ndim != 1:
            raise ValueError(f"samples must be [T] or [C, T], got shape {samples.shape}")
        spec = power_spectrogram(
            samples, sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length
        )
    power = spec.power
    if power.ndim == 3:
        power = power[channel]
    elif power.ndim != 2:
        raise ValueError(f"spectrogram power must be [F, N] or [C, F, N], got {power.shape}")
    return spec, power, offset_s


def plot_spectrogram(
    samples_or_spec: np.ndarray | Audio | Spectrogram,
    *,
    sample_rate: int | None = None,
    ax: Axes | None = None,
    n_fft: int = 1024,
    hop_length: int | None = None,
    channel: int = 0,
    offset_s: float = 0.0,
    fmin_hz: float = 0.0,
    fmax_hz: float | None = None,
    db_range: float = 80.0,
    scale: str = "db",
    events: Sequence[Event] | None = None,
    contours: Sequence[Contour] | None = None,
    title: str | None = None,
    cmap: str = "magma",
) -> Axes:
    """Draw a spectrogram (time in s, frequency in kHz) with events and contours on top.

    Parameters
    ----------
    samples_or_spec : np.ndarray [T] or [C, T], Audio, or Spectrogram
        Samples, or a spectrogram computed already (``power`` ``[F, N]`` or ``[C, F, N]``).
    sample_rate : int, optional
        Sample rate in Hz; needed for a bare sample array.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new figure is made by default.
    n_fft, hop_length : int
        STFT frame length and hop in samples, when computing the spectrogram
        (``hop_length`` defaults to ``n_fft // 4``).
    channel : int
        0-based channel to show for multi-channel input.
    offset_s : float
        Time of the first sample in seconds, added to the time axis; an :class:`Audio` read from
        a later part of a file adds its own ``start_s`` too. Events and contours are drawn at
        their own times, relative to the start of the recording.
    fmin_hz, fmax_hz : float
        Frequency range shown in Hz; ``fmax_hz`` defaults to the Nyquist frequency.
    db_range : float
        Colour range in dB below the loudest bin (``scale="db"``).
    scale : {"db", "pcen"}
        Colour by decibels or by PCEN (:func:`dolphin.audio.dsp.pcen`, bioacoustic defaults),
        which flattens stationary noise and brings out faint whistles.
    events : sequence of Event, optional
        Drawn as rectangles in the colour of their label, with the label written above; events
        of every channel are drawn.
    contours : sequence of Contour, optional
        Drawn as lines.
    title : str, optional
        Axes title.
    cmap : str
        Colour map of the spectrogram.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn into: one image, one ``Rectangle`` patch per event and one line per
        contour.
    """
    spec, power, audio_offset_s = _to_spectrogram(
        samples_or_spec, sample_rate, channel, n_fft, hop_length
    )
    offset_s += audio_offset_s
    if scale == "db":
        image = power_to_db(power, ref=float(power.max()) or 1.0)
        vmax = float(image.max())
        vmin = vmax - db_range
    elif scale == "pcen":
        image = pcen(power, sample_rate=spec.sample_rate, hop_length=spec.hop_length)
        vmin, vmax = float(image.min()), float(image.max())
    else:
        raise ValueError(f"scale must be 'db' or 'pcen', got {scale!r}")

    fmax_hz = spec.sample_rate / 2 if fmax_hz is None else fmax_hz
    rows = (spec.freqs_hz >= fmin_hz) & (spec.freqs_hz <= fmax_hz)
    if not rows.any():
        raise ValueError(f"no frequency bins between {fmin_hz} and {fmax_hz} Hz")
    freqs_khz = spec.freqs_hz[rows] / 1000
    half_bin_khz = spec.sample_rate / spec.n_fft / 2000
    half_hop_s = spec.hop_length / spec.sample_rate / 2
    times_s = spec.times_s + offset_s
    extent = (
        times_s[0] - half_hop_s,
        times_s[-1] + half_hop_s,
        freqs_khz[0] - half_bin_khz,
        freqs_khz[-1] + half_bin_khz,
    )

    if ax is None:
        ax = Figure(figsize=(10, 4), layout="constrained").add_subplot()
    mappable = ax.imshow(
        image[rows],
        origin="lower",
        aspect="auto",
        extent=extent,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.figure.colorbar(mappable, ax=ax, label="dB" if scale == "db" else "PCEN")

    for event in events or ():
        colour = label_colour(event.label)
        ax.add_patch(
            Rectangle(
                (event.start_s, event.low_hz / 1000),
                event.end_s - event.start_s,
                (event.high_hz - event.low_hz) / 1000,
                fill=False,
                edgecolor=colour,
                linewidth=1.5,
            )
        )
        ax.text(
            event.start_s,
            event.high_hz / 1000,
            event.label,
            color=colour,
            fontsize=8,
            va="bottom",
            clip_on=True,
        )
    for contour in contours or ():
        ax.plot(contour.times_s, contour.freqs_hz / 1000, color=_CONTOUR_COLOUR, linewidth=1.2)

    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel("time (s)")
    ax.set_ylabel("frequency (kHz)")
    if title is not None:
        ax.set_title(title)
    return ax
