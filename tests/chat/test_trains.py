"""TimedTrainTracker: the plain tracker's trains, released in the quiet after them, public API only."""

from __future__ import annotations

import inspect

import numpy as np

from dolphin.chat import trains as trains_module
from dolphin.chat.trains import TimedTrainTracker, quiet_time_s
from dolphin.detect.clicks import Click
from dolphin.detect.pulses import ClickTrainConfig, group_clicks


def click(t: float, level_db: float = -20.0) -> Click:
    return Click(t, 40e3, 40e3, 5e3, 10e3, 35e3, 45e3, 5e-5, level_db, 20.0)


def two_trains_and_a_stray() -> list[Click]:
    """A 50 ms click train, a 2 ms burst pulse 1 s later, a stray click 3 s later."""
    a = [click(0.1 + 0.05 * k) for k in range(20)]
    b = [click(2.0 + 0.002 * k, -30.0) for k in range(100)]
    return a + b + [click(5.0, -10.0)]


def key(trains) -> list:
    return [(t.label, t.start_s, t.end_s, len(t.clicks)) for t in trains]


def test_same_trains_as_the_plain_tracker_released_in_the_quiet():
    cfg = ClickTrainConfig(ici_tolerance=0.3)
    clicks = two_trains_and_a_stray()
    timed, released = TimedTrainTracker(config=cfg), []
    pending = list(clicks)
    for now in np.arange(0.02, 6.0, 0.02):  # 20 ms blocks: clicks up to `now`, then advance
        ready = [c for c in pending if c.time_s < now]
        pending = pending[len(ready) :]
        released += [(now, t) for t in timed.process(ready) + timed.advance(now)]
    released += [(6.0, t) for t in timed.flush()]
    assert key([t for _, t in released]) == key(group_clicks(clicks, config=cfg))
    assert len(released) == 2
    for now, train in released:  # each within the quiet time after its last click
        assert now - train.end_s <= quiet_time_s(cfg) + 0.05
        assert now < 5.0  # long before the stray click that the plain tracker waits for


def test_uses_only_the_public_api_of_the_detect_tracker():
    source = inspect.getsource(trains_module)
    assert "tracker._" not in source and "probe._" not in source
