"""When a reader of the availability cache volunteers to make an entry afresh before it expires."""

import time

import pytest

from booking.selectors import refresh_early


@pytest.fixture
def on_the_time_it_took_alone(settings):
    settings.AVAILABILITY_CACHE_SECONDS = 0  # no life to scale by: only the time the entry took counts


def test_an_entry_with_most_of_its_life_left_is_never_made_afresh(on_the_time_it_took_alone):
    assert not any(refresh_early(time.time() + 30, 0.05) for _ in range(10_000))


def test_an_entry_past_its_expiry_is_always_made_afresh():
    assert all(refresh_early(time.time() - 0.001, 0.05) for _ in range(1_000))


def test_in_the_last_moments_before_expiry_nearly_every_reader_volunteers():
    # With a hundredth of the making time left, each reader volunteers with a chance of about 99%.
    volunteers = sum(refresh_early(time.time() + 0.0005, 0.05) for _ in range(1_000))
    assert volunteers >= 950


def test_the_longer_an_entry_took_to_make_the_earlier_readers_start_to_volunteer(on_the_time_it_took_alone):
    left = 0.1
    quick = sum(refresh_early(time.time() + left, 0.01) for _ in range(2_000))  # chance about e^-10
    slow = sum(refresh_early(time.time() + left, 0.1) for _ in range(2_000))  # chance about e^-1, 37%
    assert quick < 10 and 500 < slow < 1_000


def test_a_range_asked_for_a_few_times_a_second_is_checked_seconds_before_it_expires(settings):
    """On the time it took alone (here 30 ms), hardly any reader would volunteer seconds before expiry; on the
    scale of a twentieth of its life (3 s of 60) some do, while an entry with half its life left is left alone."""
    settings.AVAILABILITY_CACHE_SECONDS = 60

    def volunteers(left: float) -> int:
        return sum(refresh_early(time.time() + left, 0.03) for _ in range(10_000))

    assert volunteers(30) < 5  # chance about e^-10
    assert 150 < volunteers(10) < 600  # about e^-3.3, 3.6%
    assert 3_000 < volunteers(3) < 4_500  # about e^-1, 37%
