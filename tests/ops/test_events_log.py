"""EventsLog: every event counted, a line due for the first and then at most every
``every_s`` (with how many came since), and a reset that makes the next one first again.
The undecodable-packet log, the real-time gate and the timers' failure log share it."""

from __future__ import annotations

from fc25_denoise.ratelog import Due, EventsLog


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_first_event_is_due_then_at_most_one_line_per_period():
    clock = Clock()
    events = EventsLog(10.0, clock)
    assert events.add() == Due(1, None)
    clock.now += 4
    assert events.add() is None
    clock.now += 5.9
    assert events.add() is None
    clock.now += 0.1
    assert events.add() == Due(3, 10.0)  # the two held back and this one
    assert events.count == 4
    clock.now += 25
    assert events.add() == Due(1, 25.0)


def test_a_reset_returns_the_count_and_the_next_event_is_first_again():
    clock = Clock()
    events = EventsLog(10.0, clock)
    events.add()
    events.add()
    assert events.reset() == 2 and events.count == 0
    assert events.add() == Due(1, None)
