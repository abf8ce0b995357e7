"""Recording start times encoded in recorder file names (SoundTrap, PAMGuard, AudioMoth, ISO)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

# Each pattern is tried in turn on the file name; digits must not continue on either side.
_ISO = re.compile(r"(?<!\d)(\d{8})T(\d{6})(?:[.,](\d{1,6}))?Z?(?!\d)")
_SOUNDTRAP = re.compile(r"^\d+\.(\d{12})(?!\d)")
_PAMGUARD = re.compile(r"^PAM[^_]*_(\d{8})_(\d{6})_(\d{3})(?!\d)", re.IGNORECASE)
_DATE_TIME = re.compile(r"(?<!\d)(\d{8})_(\d{6})(?!\d)")


def parse_start_time(name: str) -> datetime | None:
    """Recording start time encoded in a recorder's file name.

    Recognised names (the directory part of a path is ignored):

    * SoundTrap ``5783.190416123456.wav``: serial number, then ``YYMMDDHHMMSS``;
    * ISO-like ``..._20190416T123456Z.wav`` or ``20190416T123456.250Z``, anywhere in the name;
    * PAMGuard ``PAM_20190416_123456_123.wav``: the last part is milliseconds (only for names
      starting with ``PAM``, since elsewhere a trailing number is usually a file counter);
    * AudioMoth and most others ``20190416_123456.wav``, ``PREFIX_20190416_123456.wav`` and the
      SIGWI / DOLPHINFREE ``SCW1807_20200711_085400.wav``.

    Times are taken to be UTC, as recorders are normally set.

    Parameters
    ----------
    name : str
        File name or path.

    Returns
    -------
    datetime or None
        Timezone-aware start time, or None when no pattern matches a valid date; odd names never
        raise.
    """
    name = Path(str(name)).name
    candidates: list[tuple[str, str, str]] = []  # (YYYYMMDD, HHMMSS, fraction digits)
    if match := _ISO.search(name):
        candidates.append((match[1], match[2], match[3] or ""))
    if match := _SOUNDTRAP.search(name):
        candidates.append(("20" + match[1][:6], match[1][6:], ""))
    if match := _PAMGUARD.search(name):
        candidates.append((match[1], match[2], match[3]))
    candidates.extend((m[1], m[2], "") for m in _DATE_TIME.finditer(name))
    for date, time, fraction in candidates:
        parsed = _to_datetime(date, time, fraction)
        if parsed is not None:
            return parsed
    return None


def _to_datetime(date: str, time: str, fraction: str) -> datetime | None:
    try:
        parsed = datetime.strptime(date + time, "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    if not 1970 <= parsed.year <= 2100:  # eight digits that happen to form a date
        return None
    if fraction:
        parsed += timedelta(microseconds=round(int(fraction) * 10 ** (6 - len(fraction))))
    return parsed
