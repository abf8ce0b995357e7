"""Streaming grouping of whistle contours into whistle events.

:func:`dolphin.detect.contours.whistle_events` groups a whole recording's contours at once: it
walks them in order of start time and puts each into the latest group holding a contour it
continues (a fragment, a repeated loop or an overlapping piece). :class:`WhistleEventGrouper`
does the same walk on a stream, with explicit state, and gives the same events:

* contours arrive from :class:`~dolphin.detect.contours.WhistleTracker` in order of completion,
  not of start, so they wait in a buffer until the tracker's :attr:`horizon_s` (no later contour
  starts before it) has passed their start; then they are grouped in order of start time;
* a group is final, and becomes an event, once no future contour can join it: joining needs a
  start at most ``max(max_loop_gap_s, 60 ms)`` after the end of one of its contours.

Every whistle event gets a contour id (1, 2, ... in order of first start within the stream),
written to ``Event.extra["Contour ID"]``.
"""

from __future__ import annotations

from dolphin.annotations import Event
from dolphin.detect.contours import _FRAGMENT_GAP_S, WhistleContour, _same_whistle, group_event

#: Event column holding a whistle event's contour id.
CONTOUR_ID = "Contour ID"


def _order(w: WhistleContour) -> tuple[float, float]:
    """Sort key of contours: start time, then first frequency (as :func:`track_whistles`)."""
    return w.start_s, float(w.contour.freqs_hz[0])


class WhistleEventGrouper:
    """Whistle contours in, finished whistle events out (explicit state).

    Parameters
    ----------
    max_loop_gap_s : float
        Longest silent gap between the loops of one whistle, in seconds.
    margin_hz : float
        Added below and above the contour range to give the event band, in Hz.
    channel : int
        1-based channel written into the events.
    """

    def __init__(
        self, *, max_loop_gap_s: float = 0.3, margin_hz: float = 300.0, channel: int = 1
    ) -> None:
        self.max_loop_gap_s = float(max_loop_gap_s)
        self.margin_hz = float(margin_hz)
        self.channel = int(channel)
        # A contour starting later than this after a group's last end cannot join the group.
        self._reach_s = max(self.max_loop_gap_s, _FRAGMENT_GAP_S)
        self.reset()

    def reset(self) -> None:
        """Forget everything; contour ids start again at 1."""
        self._waiting: list[WhistleContour] = []  # received, not yet grouped
        self._groups: list[tuple[int, list[WhistleContour]]] = []  # (id, members), open
        self._next_id = 1

    def process(self, contours: list[WhistleContour], *, horizon_s: float) -> list[Event]:
        """Add contours; return the whistle events no later contour can change.

        Parameters
        ----------
        contours : list of WhistleContour
            New tracker output, in any order.
        horizon_s : float
            No contour passed in later calls starts before this time, in seconds (the tracker's
            :attr:`~dolphin.detect.contours.WhistleTracker.horizon_s` after the same block).

        Returns
        -------
        list of Event
            Finished whistle events, in order of their contour ids.
        """
        self._waiting += contours
        ready = sorted((w for w in self._waiting if w.start_s < horizon_s), key=_order)
        self._waiting = [w for w in self._waiting if w.start_s >= horizon_s]
        for w in ready:
            self._add(w)
        earliest = min([horizon_s] + [w.start_s for w in self._waiting])
        return self._release(lambda end: end + self._reach_s < earliest)

    def flush(self, contours: list[WhistleContour] | None = None) -> list[Event]:
        """Add the last contours, end every group and reset the state.

        Returns
        -------
        list of Event
            The remaining whistle events, in order of their contour ids.
        """
        for w in sorted(self._waiting + list(contours or []), key=_order):
            self._add(w)
        out = self._release(lambda end: True)
        self.reset()
        return out

    def _add(self, w: WhistleContour) -> None:
        """Put ``w`` into the latest open group it continues, or start a group (as offline)."""
        for _, members in reversed(self._groups):
            if any(_same_whistle(m, w, self.max_loop_gap_s) for m in members):
                members.append(w)
                return
        self._groups.append((self._next_id, [w]))
        self._next_id += 1

    def _release(self, is_final) -> list[Event]:
        """Events of the groups whose latest contour end satisfies ``is_final``."""
        out, still = [], []
        for group_id, members in self._groups:
            if is_final(max(m.end_s for m in members)):
                event = group_event(members, margin_hz=self.margin_hz, channel=self.channel)
                event.extra[CONTOUR_ID] = str(group_id)
                out.append(event)
            else:
                still.append((group_id, members))
        self._groups = still
        return out
