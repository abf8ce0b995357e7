"""The JSONL event log: round trip, odd values, torn lines, fsync, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from dolphin.chat.eventlog import EventLog, EventLogError, read_events, to_jsonable


@dataclass
class _Thing:
    label: str
    scores: np.ndarray


def test_records_round_trip_with_numpy_dataclasses_paths_and_times(tmp_path):
    path = tmp_path / "events.jsonl"
    when = datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc)
    with EventLog(path) as log:
        log.log("note", text="hydrophone at 3 m", depth=np.float32(3.0), n=np.int64(2))
        log.log("detection", thing=_Thing("scarf", np.array([0.5, np.nan])), at=when, p=Path("a"))
        assert log.n_records == 2
    records = read_events(path)
    assert [r["event"] for r in records] == ["note", "detection"]
    assert records[0]["depth"] == 3.0 and records[0]["n"] == 2
    assert records[1]["thing"] == {"label": "scarf", "scores": [0.5, None]}
    assert records[1]["at"] == "2024-05-01T09:30:00+00:00" and records[1]["p"] == "a"
    assert datetime.fromisoformat(records[0]["wall_time"]).tzinfo is not None
    assert read_events(path, events=["note"]) == records[:1]


def test_reserved_keys_and_closed_logs_are_refused(tmp_path):
    log = EventLog(tmp_path / "events.jsonl")
    with pytest.raises(EventLogError, match="set by the log"):
        log.log("note", wall_time="now")
    log.close()
    log.close()  # idempotent
    with pytest.raises(EventLogError, match="closed"):
        log.log("note")
    with pytest.raises(EventLogError, match=r"\(0, 1\]"):
        EventLog(tmp_path / "other.jsonl", sync_interval_s=5)


def test_a_torn_last_line_is_skipped_but_a_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"event": "a"}\n{"event": "b"}\n{"event": "c", "x": [1, 2')
    assert [r["event"] for r in read_events(path)] == ["a", "b"]
    path.write_text('{"event": "a"}\nnot json\n{"event": "c"}\n')
    with pytest.raises(EventLogError, match="line 2"):
        read_events(path)
    with pytest.raises(EventLogError, match="not found"):
        read_events(tmp_path / "missing.jsonl")


def test_the_background_thread_fsyncs_within_the_interval(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(time.monotonic()), real_fsync(fd)))
    with EventLog(tmp_path / "events.jsonl", sync_interval_s=0.1) as log:
        logged = time.monotonic()
        log.log("note")
        time.sleep(0.35)
        assert synced and synced[0] - logged < 0.3
        assert not log._dirty


def test_jsonable_turns_non_finite_floats_into_null():
    assert to_jsonable({"a": float("inf"), "b": (1, np.float64(2.5))}) == {"a": None, "b": [1, 2.5]}
    assert to_jsonable(np.array([[1, 2]])) == [[1, 2]]


_KILLED_WRITER = """
import os, signal, sys
from dolphin.chat.eventlog import EventLog
log = EventLog(sys.argv[1])
for k in range(200):
    log.log("status", k=k, pad="x" * 100)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_kill_9_loses_nothing_that_was_logged(tmp_path):
    path = tmp_path / "events.jsonl"
    proc = subprocess.run([sys.executable, "-c", _KILLED_WRITER, str(path)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert [r["k"] for r in read_events(path)] == list(range(200))
