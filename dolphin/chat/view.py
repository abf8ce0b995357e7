"""A live terminal view of a CHAT session, and single-key input; plain text, no curses.

:class:`TerminalView` shows the input level, the latest detections, emissions and overruns. On a
terminal it redraws the screen (ANSI home + clear) every ``refresh_s``; elsewhere (a pipe, a log
file, CI) it prints one line per event and a status line every ``status_every_s``.

:class:`KeyReader` reads key presses without Enter (the terminal in cbreak mode, a reader
thread); when standard input is not a terminal it reads nothing.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import IO

import numpy as np

_CLEAR = "\x1b[H\x1b[J"
_METER_DB = 90.0  # the level meter spans -90..0 dBFS


def _db(x: float) -> float:
    return 20.0 * np.log10(max(x, 1e-9))


def meter(level_dbfs: float, width: int = 40) -> str:
    """A bar of ``width`` characters for a level in dBFS (-90 empty, 0 full)."""
    filled = int(round(np.clip((level_dbfs + _METER_DB) / _METER_DB, 0.0, 1.0) * width))
    return "#" * filled + "." * (width - filled)


class TerminalView:
    """Live status of a session.

    Parameters
    ----------
    stream : file, optional
        Where to draw; standard output by default.
    tty : bool, optional
        Redraw in place (True) or print log lines (False); by default, whether ``stream`` is a
        terminal.
    refresh_s : float
        Seconds between redraws on a terminal.
    status_every_s : float
        Seconds between status lines when not on a terminal.
    n_recent : int
        Detections and emissions listed.
    keys : mapping of str to str, optional
        Key -> label, shown as help.
    title : str
        First line (session folder, devices).
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        tty: bool | None = None,
        refresh_s: float = 0.5,
        status_every_s: float = 10.0,
        n_recent: int = 6,
        keys: Mapping[str, str] | None = None,
        title: str = "",
    ) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.refresh_s = refresh_s
        self.status_every_s = status_every_s
        self.keys = dict(keys or {})
        self.title = title
        self.rms_dbfs = -np.inf
        self.peak_dbfs = -np.inf
        self.n_detections = self.n_accepted = self.n_emissions = self.n_overruns = 0
        self.detections: deque[str] = deque(maxlen=n_recent)
        self.emissions: deque[str] = deque(maxlen=n_recent)
        self.problems: deque[str] = deque(maxlen=3)
        self._last_draw = -np.inf

    # --- updates ------------------------------------------------------------------------------
    def levels(self, samples: np.ndarray) -> None:
        """Take the level of the latest block (``[C, N]`` or ``[N]``; the first channel)."""
        x = np.atleast_2d(samples)[0]
        if x.size:
            self.rms_dbfs = _db(float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))))
            self.peak_dbfs = _db(float(np.abs(x).max()))

    def detection(self, record: Mapping) -> None:
        """A detection record as logged (``label``, ``confidence``, ``accepted``, ``start_s``)."""
        self.n_detections += 1
        accepted = bool(record.get("accepted", True))
        self.n_accepted += accepted
        label = record.get("label") or f"({record.get('nearest_label') or '?'})"
        line = (
            f"{record.get('start_s') or 0.0:9.2f} s  {label:12s} "
            f"conf {record.get('confidence') or 0.0:.2f}  {'ACCEPTED' if accepted else 'rejected'}"
        )
        self._event(self.detections, line, "detection")

    def emission(self, record: Mapping) -> None:
        """An emission record as logged (``label``, ``start_s``, ``level_dbfs``, ``trigger``)."""
        self.n_emissions += 1
        line = (
            f"{record.get('start_s') or 0.0:9.2f} s  {record.get('label') or '?':12s} "
            f"{record.get('level_dbfs') or 0.0:6.1f} dBFS  ({record.get('trigger') or ''})"
        )
        self._event(self.emissions, line, "emission")

    def problem(self, record: Mapping) -> None:
        """An overrun, drop or device error record as logged (``event``, ``frame``, ``detail``)."""
        if record.get("event") in ("input_overflow", "dropped"):
            self.n_overruns += 1
        line = f"{record.get('event', 'error')}: {record.get('detail', '')}".strip()
        self._event(self.problems, line, "PROBLEM")

    def _event(self, recent: deque, line: str, what: str) -> None:
        recent.appendleft(line)
        if not self.tty:
            self.stream.write(f"{what:10s} {line}\n")
            self.stream.flush()

    # --- drawing ------------------------------------------------------------------------------
    def render(self, stream_s: float) -> str:
        """The whole screen as text."""
        minutes, seconds = divmod(stream_s, 60.0)
        lines = [
            self.title or "dolphin chat session",
            f"time {int(minutes):3d}:{seconds:05.2f}   level {self.rms_dbfs:6.1f} dBFS rms, "
            f"{self.peak_dbfs:6.1f} peak  [{meter(self.peak_dbfs)}]",
            f"detections {self.n_detections} ({self.n_accepted} accepted)   emissions "
            f"{self.n_emissions}   overruns {self.n_overruns}",
        ]
        if self.keys:
            lines.append(
                "keys: " + "  ".join(f"{k}={v}" for k, v in self.keys.items()) + "  q=quit"
            )
        lines += ["", "recent detections:"] + [f"  {x}" for x in self.detections]
        lines += ["recent emissions:"] + [f"  {x}" for x in self.emissions]
        if self.problems:
            lines += ["problems:"] + [f"  {x}" for x in self.problems]
        return "\n".join(lines)

    def status_line(self, stream_s: float) -> str:
        """One line for logs."""
        return (
            f"[{stream_s:9.2f} s] level {self.rms_dbfs:6.1f} dBFS  detections "
            f"{self.n_detections} ({self.n_accepted} accepted)  emissions {self.n_emissions}  "
            f"overruns {self.n_overruns}"
        )

    def refresh(self, stream_s: float, *, force: bool = False) -> None:
        """Redraw (terminal) or print a status line (otherwise) when it is time."""
        now = time.monotonic()
        interval = self.refresh_s if self.tty else self.status_every_s
        if not force and now - self._last_draw < interval:
            return
        self._last_draw = now
        text = (
            _CLEAR + self.render(stream_s) + "\n" if self.tty else self.status_line(stream_s) + "\n"
        )
        self.stream.write(text)
        self.stream.flush()


class KeyReader:
    """Key presses from a terminal, without Enter; inert when the stream is not a terminal.

    Parameters
    ----------
    stream : file, optional
        Standard input by default.

    Examples
    --------
    >>> with KeyReader() as keys:  # doctest: +SKIP
    ...     for key in keys.poll():
    ...         print(key)
    """

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdin
        self.active = False
        self._keys: deque[str] = deque()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved = None

    def start(self) -> KeyReader:
        """Put the terminal in cbreak mode and start reading (nothing happens off a terminal)."""
        try:
            if not self.stream.isatty():
                return self
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        except (ImportError, OSError, ValueError, AttributeError):  # no terminal, or Windows
            return self
        self.active = True
        self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True, name="keys")
        self._thread.start()
        return self

    def _read(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                data = os.read(fd, 32)
                if not data:
                    return
                self._keys.extend(data.decode(errors="ignore"))

    def push(self, key: str) -> None:
        """Queue a key as if pressed (tests, scripted sessions)."""
        self._keys.extend(key)

    def poll(self) -> list[str]:
        """Keys pressed since the last call."""
        out = []
        while self._keys:
            out.append(self._keys.popleft())
        return out

    def stop(self) -> None:
        """Stop reading and restore the terminal."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(1.0)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)
            self._saved = None
        self.active = False

    def __enter__(self) -> KeyReader:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
