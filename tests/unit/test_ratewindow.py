"""In-memory sliding-window counters for the per-address limit."""

from __future__ import annotations

from limits import parse_many

from tokenward.ratewindow import SlidingWindows


class Ticks:
    """A settable monotonic clock."""

    def __init__(self, start: float = 600.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_allows_the_limit_then_refuses() -> None:
    """Exactly `amount` hits pass in a fresh window; the next is refused with a wait."""
    ticks = Ticks()
    windows = SlidingWindows(parse_many("3/minute"), clock=ticks)

    answers = [windows.hit("10.0.0.1") for _ in range(4)]

    assert answers[:3] == [None, None, None]
    assert answers[3] is not None and 1 <= answers[3] <= 60


def test_keys_are_counted_apart() -> None:
    """One address reaching its limit leaves another untouched."""
    windows = SlidingWindows(parse_many("1/minute"), clock=Ticks())

    assert windows.hit("a") is None
    assert windows.hit("a") is not None
    assert windows.hit("b") is None


def test_previous_window_weighs_in_as_it_slides_away() -> None:
    """Hits of the last window count in proportion to how much of it is still inside."""
    ticks = Ticks(start=600.0)
    windows = SlidingWindows(parse_many("10/minute"), clock=ticks)
    for _ in range(10):
        assert windows.hit("a") is None

    ticks.now = 660.0 + 15  # a quarter into the next window: 7.5 of 10 still count
    allowed = sum(windows.hit("a") is None for _ in range(10))

    assert allowed == 2


def test_refused_hits_are_not_counted() -> None:
    """Hammering while refused does not push the wait further out."""
    ticks = Ticks(start=600.0)
    windows = SlidingWindows(parse_many("2/minute"), clock=ticks)
    windows.hit("a")
    windows.hit("a")
    for _ in range(100):
        windows.hit("a")

    ticks.now = 600.0 + 120  # two windows on: nothing of the first one counts
    assert windows.hit("a") is None


def test_every_limit_must_have_room() -> None:
    """With `2/second;3/minute` the minute limit binds after the second resets."""
    ticks = Ticks(start=600.0)
    windows = SlidingWindows(parse_many("2/second;3/minute"), clock=ticks)
    assert windows.hit("a") is None
    assert windows.hit("a") is None
    assert windows.hit("a") is not None

    ticks.now += 5
    assert windows.hit("a") is None
    assert windows.hit("a") is not None


def test_idle_keys_are_forgotten() -> None:
    """Keys not hit for two of the longest windows leave the table: it stays small."""
    ticks = Ticks(start=600.0)
    windows = SlidingWindows(parse_many("5/minute"), clock=ticks)
    for i in range(1000):
        windows.hit(f"10.0.{i // 250}.{i % 250}")
    assert len(windows) == 1000

    ticks.now += 120
    windows.hit("10.9.9.9")

    assert len(windows) == 1
