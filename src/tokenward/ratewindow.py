"""In-memory sliding-window counters: the per-address limit every `/auth` request meets.

The same approximation as the `limits` library's sliding window counter (the previous
window's count, weighted by how much of it still lies in the sliding window, plus the
current window's count), kept in plain Python objects: a hit costs about a microsecond
where `limits`' asyncio memory storage costs fifteen, and schedules no task or thread.
With Redis configured, `limits` itself is used, so instances share the counts.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from limits import RateLimitItem


class _Window:
    __slots__ = ("current", "index", "previous")

    def __init__(self) -> None:
        self.index = -2
        self.previous = 0
        self.current = 0


class _Entry:
    __slots__ = ("last_hit", "windows")

    def __init__(self, windows: list[_Window]) -> None:
        self.last_hit = 0.0
        self.windows = windows


class SlidingWindows:
    """Counters for a set of limits (`5/minute;50/hour`), one entry per key.

    Keys are kept in the order of their last hit, so the ones nobody has hit for two
    of the longest windows (whose counts no longer matter) are found at the front and
    dropped as hits go by: the table holds only the recently active keys.
    """

    def __init__(
        self,
        limits: Sequence[RateLimitItem],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = [(item.amount, item.get_expiry()) for item in limits]
        self._clock = clock
        self._horizon = 2 * max((period for _, period in self._limits), default=0)
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def hit(self, key: str) -> int | None:
        """Count one hit; return None if allowed, else the seconds to wait."""
        now = self._clock()
        self._forget_idle(now)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _Entry([_Window() for _ in self._limits])
        else:
            self._entries.move_to_end(key)
        entry.last_hit = now
        windows = entry.windows

        for (amount, period), window in zip(self._limits, windows, strict=True):
            _advance(window, now, period)
            weight = 1.0 - (now % period) / period
            if window.previous * weight + window.current + 1 > amount:
                return _retry_after(window, now, amount, period)
        for window in windows:
            window.current += 1
        return None

    def _forget_idle(self, now: float) -> None:
        entries = self._entries
        while entries:
            oldest = next(iter(entries))
            if now - entries[oldest].last_hit < self._horizon:
                return
            del entries[oldest]


def _advance(window: _Window, now: float, period: int) -> None:
    index = int(now // period)
    if window.index == index:
        return
    window.previous = window.current if window.index == index - 1 else 0
    window.current = 0
    window.index = index


def _retry_after(window: _Window, now: float, amount: int, period: int) -> int:
    """Seconds until the weighted count leaves room for one more hit."""
    into_window = now % period
    room = amount - window.current - 1
    if room < 0 or window.previous == 0:
        return max(1, math.ceil(period - into_window))
    # The previous window's weight falls linearly to zero over this window.
    needed = period * (1.0 - room / window.previous)
    return max(1, math.ceil(needed - into_window))
