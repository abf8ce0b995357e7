"""Raven Pro selection tables: round trips, tables written by Raven itself, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dolphin.annotations import (
    RAVEN_COLUMNS,
    Contour,
    Event,
    contours_path,
    read_raven,
    write_raven,
)
from dolphin.errors import AnnotationError


def _events() -> list[Event]:
    """Events whose values are already at table precision (1 us, 0.01 Hz, 1e-4), so they
    round trip exactly."""
    t = np.round(np.arange(0, 0.3, 1e-3) + 1.234567, 6)
    return [
        Event(
            1.234567,
            1.6,
            5012.3,
            12001.7,
            "whistle",
            channel=2,
            individual="ind01",
            whistle_type="sig-ind01",
            signature=True,
            snr_db=12.5,
            contour=Contour(t, np.round(6000 + 5000 * np.sin(t) / 3, 2)),
            extra={"Loops": "2", "Bout": "1"},
        ),
        Event(
            2.0,
            3.25,
            20000.0,
            44000.0,
            "click_train",
            individual="ind02",
            score=0.875,
            snr_db=-0.3333,
        ),
        Event(4.0, 4.5, 100.0, 200.0, "noise", extra={"Note": "vessel, passing"}),
    ]


def test_round_trip_keeps_every_field(tmp_path: Path):
    events = _events()
    table = write_raven(tmp_path / "rec.Table.1.selections.txt", events)
    assert contours_path(table).name == "rec.Table.1.selections.contours.jsonl"
    assert contours_path(table).is_file()
    header = table.read_text().splitlines()[0].split("\t")
    assert tuple(header[:7]) == RAVEN_COLUMNS
    assert header[7:] == [
        "Class",
        "Individual",
        "Whistle Type",
        "Signature",
        "Score",
        "SNR (dB)",
        "Loops",
        "Bout",
        "Note",
    ]
    assert read_raven(table) == events
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_values_are_rounded_to_table_precision(tmp_path: Path):
    event = Event(1 / 3, 2 / 3, 1000 / 3, 5000 / 3, "whistle", snr_db=10 / 3)
    (back,) = read_raven(write_raven(tmp_path / "r.txt", [event]))
    assert back.start_s == 0.333333 and back.end_s == 0.666667
    assert back.low_hz == 333.33 and back.high_hz == 1666.67 and back.snr_db == 3.3333


def test_round_trip_without_sidecar(tmp_path: Path):
    table = tmp_path / "t.txt"
    write_raven(table, _events())
    write_raven(table, _events(), contours_sidecar=False)
    assert contours_path(table).is_file()  # left alone when not managing the sidecar
    write_raven(table, _events()[1:])
    assert not contours_path(table).exists()  # a stale sidecar is removed
    assert all(e.contour is None for e in read_raven(table))


RAVEN_TABLE = (
    "Selection\tView\tChannel\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
    "Delta Time (s)\tBegin File\tAnnotation\r\n"
    "1\tWaveform 1\t1\t0.512000000\t1.034000000\t0.000\t48000.000\t0.5220\tA.wav\twhistle\r\n"
    "1\tSpectrogram 1\t1\t0.512000000\t1.034000000\t6023.400\t14870.100\t0.5220\tA.wav\twhistle\r\n"
    "2\tSpectrogram 1\t2\t3.100000000\t3.400000000\t20000.000\t40000.000\t0.3000\tA.wav\t\r\n"
    "2\tWaveform 1\t2\t3.100000000\t3.400000000\t0.000\t48000.000\t0.3000\tA.wav\t\r\n"
    "3\tWaveform 1\t1\t5.000000000\t5.500000000\t0.000\t48000.000\t0.5000\tA.wav\tbuzz\r\n"
)


def test_reads_tables_written_by_raven(tmp_path: Path):
    path = tmp_path / "A.Table.1.selections.txt"
    path.write_bytes(b"\xef\xbb\xbf" + RAVEN_TABLE.encode())  # BOM and CRLF as on Windows
    events = read_raven(path)
    assert [e.label for e in events] == ["whistle", "", "buzz"]
    first, second, third = events
    assert (first.start_s, first.end_s, first.low_hz, first.high_hz) == (
        0.512,
        1.034,
        6023.4,
        14870.1,
    )
    assert second.channel == 2 and second.low_hz == 20000.0  # spectrogram row preferred
    assert third.high_hz == 48000.0  # only a waveform row: kept
    assert first.extra == {"Delta Time (s)": "0.5220", "Begin File": "A.wav"}
    assert first.individual is None and not first.signature and first.snr_db is None


def test_class_column_alternatives(tmp_path: Path):
    path = tmp_path / "s.txt"
    path.write_text(
        "Selection\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\t"
        "Label\tspecies\n1\t0\t1\t10\t20\tnice\tTursiops\t\t\n"
    )
    (event,) = read_raven(path)  # precedence: Class, Annotation, Species, Label
    assert event.label == "Tursiops" and event.extra == {"Label": "nice"}
    assert event.channel == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("Selection\tBegin Time (s)\tLow Freq (Hz)\n1\t0\t5\n", "End Time \\(s\\), High Freq"),
        (
            "Selection\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\n"
            "1\t0\t1\t10\t20\n2\tabc\t1\t10\t20\n",
            "line 3: column 'Begin Time \\(s\\)'",
        ),
        (
            "Selection\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\n"
            "1\t2\t1\t10\t20\n",
            "line 2: End Time",
        ),
        (
            "Selection\tBegin Time (s)\tEnd Time (s)\tLow Freq (Hz)\tHigh Freq (Hz)\n"
            "1\t0\t1\t30\t20\n",
            "High Freq",
        ),
        ("", "empty"),
    ],
)
def test_read_errors_name_the_problem(tmp_path: Path, body: str, message: str):
    path = tmp_path / "bad.txt"
    path.write_text(body)
    with pytest.raises(AnnotationError, match=message):
        read_raven(path)


def test_missing_file_and_bad_sidecar(tmp_path: Path):
    with pytest.raises(AnnotationError, match="not found"):
        read_raven(tmp_path / "nope.txt")
    table = write_raven(tmp_path / "t.txt", _events())
    contours_path(table).write_text('{"id": 9, "time": [0], "frequency": [1]}\n')
    with pytest.raises(AnnotationError, match="no selection 9"):
        read_raven(table)
    contours_path(table).write_text("not json\n")
    with pytest.raises(AnnotationError, match="line 1"):
        read_raven(table)


def test_write_refuses_unsafe_fields(tmp_path: Path):
    with pytest.raises(AnnotationError, match="tab"):
        write_raven(tmp_path / "t.txt", [Event(0, 1, 0, 1, "whistle", individual="a\tb")])
    with pytest.raises(AnnotationError, match="standard columns"):
        write_raven(tmp_path / "t.txt", [Event(0, 1, 0, 1, "whistle", extra={"Class": "x"})])
    assert list(tmp_path.iterdir()) == []
