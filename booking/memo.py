"""A small, bounded memory of recent results inside one process (one gunicorn worker).

Every key carries the versions the result was made under (see the availability cache in selectors.py), so an
entry is never stale: a change to the diary makes new keys, and old entries simply age out. Values are shared
between requests, so callers store only what nobody mutates (tuples, frozen Slots, bytes).
"""

import math
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class RecentResults:
    """Least recently used entries, bounded by the sum of their weights (e.g. free times or bytes) and, when
    `max_age` (seconds, or a function returning them) is given, by age: like the shared cache's expiry, it bounds
    how long a write that bypassed the versions (a queryset update, raw SQL) can go unseen.

    A `put` may give an entry a shorter life of its own: a copy of a shared cache entry lives no longer than that
    entry. Each entry lives a random 80-100% of its life (`max_age`, or its own if shorter): entries made or
    copied in the same moment (a warm-up, the first looks after a change to the whole diary, every worker copying
    one shared entry) would otherwise all expire in the same moment too, and every worker would make them all
    again at once, in step."""

    def __init__(self, most_weight: int, max_age: float | Callable[[], float] | None = None):
        self.most_weight = most_weight
        self.max_age = max_age
        # key -> (value, weight, when it was put, share of max_age it lives, own life in seconds or None)
        self._entries: OrderedDict[Hashable, tuple[object, int, float, float, float | None]] = OrderedDict()
        self._weight = 0
        # gunicorn's sync workers are single-threaded, but runserver and the tests are not.
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            max_age = self.max_age() if callable(self.max_age) else self.max_age
            _value, _weight, put_at, share, own_life = entry
            life = min(math.inf if max_age is None else max_age, math.inf if own_life is None else own_life)
            if time.monotonic() - put_at > life * share:
                del self._entries[key]
                self._weight -= entry[1]
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value, *, weight: int = 1, life: float | None = None):
        """Keep `value` (not when it alone outweighs the bound), for at most `life` seconds if given, and return it."""
        if weight > self.most_weight:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            share = random.uniform(0.8, 1.0)  # noqa: S311 - spreading expiries, not a secret
            self._entries[key] = (value, weight, time.monotonic(), share, life)
            self._weight += weight
            while self._weight > self.most_weight:
                _, (_, dropped, *_) = self._entries.popitem(last=False)
                self._weight -= dropped
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], object], *, weigh: Callable[[object], int] = len):
        found = self.get(key, _MISSING)
        if found is not _MISSING:
            return found
        value = make()
        return self.put(key, value, weight=weigh(value))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._weight = 0

    def __len__(self) -> int:
        return len(self._entries)


_MISSING = object()
