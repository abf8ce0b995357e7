"""Tests of dolphin.audio.plot: spectrogram axes with events and contours, headless.

The module never touches pyplot, so no backend needs selecting.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from dolphin.annotations import BURST_PULSE, WHISTLE, Contour, Event
from dolphin.audio.io import Audio
from dolphin.audio.plot import label_colour, plot_spectrogram
from dolphin.audio.spectral import power_spectrogram

from .conftest import make_noise, make_tone

SR = 48000


@pytest.fixture
def scene() -> np.ndarray:
    return make_tone(9000, sample_rate=SR, duration_s=0.2, n_channels=2) + make_noise(
        sample_rate=SR, duration_s=0.2, n_channels=2, std=0.01
    )


def _events() -> list[Event]:
    return [
        Event(0.02, 0.08, 7000, 11000, WHISTLE),
        Event(0.10, 0.15, 2000, 20000, BURST_PULSE, channel=2),
        Event(0.12, 0.18, 5000, 6000, "unknown sound"),
    ]


def test_plot_with_events_and_contours(scene, tmp_path):
    contours = [Contour([0.02, 0.05, 0.08], [8000, 9000, 10000]), Contour([0.1, 0.2], [5e3, 6e3])]
    ax = plot_spectrogram(
        scene, sample_rate=SR, events=_events(), contours=contours, title="test", fmax_hz=20000
    )
    assert isinstance(ax, Axes)
    rectangles = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(rectangles) == 3
    assert len(ax.lines) == 2
    assert [text.get_text() for text in ax.texts] == [WHISTLE, BURST_PULSE, "unknown sound"]
    assert rectangles[0].get_xy() == (0.02, 7.0)  # seconds, kHz
    assert rectangles[0].get_height() == pytest.approx(4.0)
    assert len(ax.images) == 1
    assert ax.get_ylim()[1] == pytest.approx(20.0, abs=0.1)
    assert ax.get_xlabel() == "time (s)" and ax.get_ylabel() == "frequency (kHz)"
    assert ax.get_title() == "test"
    out = tmp_path / "spec.png"
    ax.figure.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_into_given_axes_and_other_inputs(scene):
    ax = Figure().add_subplot()
    spec = power_spectrogram(scene, sample_rate=SR, n_fft=512)
    assert plot_spectrogram(spec, ax=ax, channel=1) is ax
    assert not ax.patches and not ax.lines
    audio_ax = plot_spectrogram(Audio(scene, SR, start_frame=SR), scale="pcen", n_fft=256)
    assert audio_ax.get_xlim()[0] == pytest.approx(1.0, abs=0.01)  # starts at 1 s into the file
    assert np.isfinite(audio_ax.images[0].get_array()).all()


def test_plot_errors(scene):
    with pytest.raises(ValueError, match="sample_rate is needed"):
        plot_spectrogram(scene)
    with pytest.raises(ValueError, match="scale must be"):
        plot_spectrogram(scene, sample_rate=SR, scale="linear")
    with pytest.raises(ValueError, match="no frequency bins"):
        plot_spectrogram(scene, sample_rate=SR, fmin_hz=30000)


def test_label_colours_are_stable_and_distinct():
    assert label_colour(WHISTLE) != label_colour(BURST_PULSE)
    assert label_colour("dolphin A") == label_colour("dolphin A")


def test_audio_package_does_not_import_matplotlib():
    # plot is imported explicitly; importing dolphin.audio alone must not pull in matplotlib.
    import os
    import subprocess
    from pathlib import Path

    import dolphin

    root = str(Path(dolphin.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
    code = "import dolphin.audio, sys; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "False"
