"""A burst of bookings asks the workers for a dispatch pass twice a window, not once per email."""

import pytest

from booking.emails import BROKER_DOWN_PAUSE_SECONDS, DispatchKick


class Clock:
    def __init__(self, at: float = 100.0):
        self.at = at

    def __call__(self) -> float:
        return self.at


def kick_with(clock, *, window=1.0, publish=None):
    asked = []
    kick = DispatchKick(publish or asked.append, window=lambda: window, clock=clock)
    return kick, asked


def test_the_first_email_asks_at_once_and_the_rest_of_its_window_share_one_pass_when_the_window_ends():
    clock = Clock()
    kick, asked = kick_with(clock)
    kick()
    clock.at += 0.2
    kick()  # a pass half a window after this one ends: 0.8 + 0.5 s from now
    clock.at += 0.3
    kick()
    kick()
    assert asked == [0.0, pytest.approx(1.3)]
    clock.at = 101.0  # the window is over: the next email asks at once again
    kick()
    assert asked[2:] == [0.0]


def test_emails_a_window_apart_each_ask_at_once():
    clock = Clock()
    kick, asked = kick_with(clock)
    for _ in range(3):
        kick()
        clock.at += 1.5
    assert asked == [0.0, 0.0, 0.0]


def test_a_window_of_nothing_asks_for_every_email():
    kick, asked = kick_with(Clock(), window=0.0)
    kick()
    kick()
    assert asked == [0.0, 0.0]


def test_after_a_publish_failed_bookings_leave_their_emails_to_beat_for_a_while_then_ask_again():
    """A broker that hangs would otherwise cost every booking its socket timeout (3 s) while it is away."""
    clock, asked, failures = Clock(), [], [ConnectionError("broker down")]

    def publish(countdown):
        if failures:
            raise failures.pop()
        asked.append(countdown)

    kick, _ = kick_with(clock, publish=publish)
    with pytest.raises(ConnectionError):
        kick()
    clock.at += 0.1
    kick()
    clock.at += BROKER_DOWN_PAUSE_SECONDS - 1
    kick()
    assert asked == []  # beat's dispatch finds these rows
    clock.at += 1
    kick()
    assert asked == [0.0]  # the pause over: at once again
