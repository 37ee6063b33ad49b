"""The per-process memory of recent results stays within its bounds and forgets what is too old."""

from booking import memo
from booking.memo import RecentResults


def test_the_least_recently_used_entries_go_first_once_the_weight_bound_is_passed():
    recent = RecentResults(most_weight=10)
    recent.put("a", "aaaa", weight=4)
    recent.put("b", "bbbb", weight=4)
    assert recent.get("a") == "aaaa"  # now "b" is the least recently used
    recent.put("c", "cccc", weight=4)
    assert recent.get("b") is None and recent.get("a") == "aaaa" and recent.get("c") == "cccc"


def test_a_value_heavier_than_the_bound_is_returned_but_not_kept():
    recent = RecentResults(most_weight=3)
    assert recent.put("big", "too big", weight=7) == "too big"
    assert recent.get("big") is None and len(recent) == 0


def test_get_or_make_makes_once_and_none_is_a_result_like_any_other():
    made = []
    recent = RecentResults(most_weight=10)

    def make():
        made.append(1)
        return None

    assert recent.get_or_make("missing", make, weigh=lambda value: 1) is None
    assert recent.get_or_make("missing", make, weigh=lambda value: 1) is None
    assert made == [1]


def test_entries_older_than_max_age_are_forgotten(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    recent = RecentResults(most_weight=10, max_age=lambda: 60)
    recent.put("times", (1, 2, 3), weight=3)
    now[0] += 47
    assert recent.get("times") == (1, 2, 3)
    now[0] += 14
    assert recent.get("times") is None and len(recent) == 0


def test_entries_kept_in_the_same_moment_expire_at_different_moments_within_max_age(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    recent = RecentResults(most_weight=1000, max_age=lambda: 60)
    for n in range(200):
        recent.put(n, n)
    kept_after = []
    for second in range(62):
        now[0] = 1000.0 + second
        kept_after.append(sum(recent.get(n) is not None for n in range(200)))
    assert kept_after[47] == 200 and kept_after[61] == 0
    assert kept_after[50] > kept_after[54] > kept_after[58] > 0  # spread over the last fifth of their life


def test_an_entry_given_a_shorter_life_of_its_own_expires_with_it(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    recent = RecentResults(most_weight=10, max_age=lambda: 60)
    recent.put("copy of a shared entry", "times", life=5)
    now[0] += 3.9
    assert recent.get("copy of a shared entry") == "times"
    now[0] += 1.2
    assert recent.get("copy of a shared entry") is None


def test_copies_of_one_shared_entry_expire_at_different_moments_within_its_life(monkeypatch):
    """Every worker copies a shared entry with the time it has left: the copies must not all go at its expiry."""
    now = [1000.0]
    monkeypatch.setattr(memo.time, "monotonic", lambda: now[0])
    recent = RecentResults(most_weight=1000, max_age=lambda: 60)
    for worker in range(200):
        recent.put(worker, "times", life=10)
    kept_after = []
    for tenth in range(102):
        now[0] = 1000.0 + tenth / 10
        kept_after.append(sum(recent.get(worker) is not None for worker in range(200)))
    assert kept_after[79] == 200 and kept_after[101] == 0
    assert kept_after[84] > kept_after[92] > kept_after[98] > 0
