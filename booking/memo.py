"""A small, bounded memory of recent results inside one process (one gunicorn worker).

Every key carries the versions the result was made under (see the availability cache in selectors.py), so an
entry is never stale: a change to the diary makes new keys, and old entries simply age out. Values are shared
between requests, so callers store only what nobody mutates (tuples, frozen Slots, bytes).
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable


class RecentResults:
    """Least recently used entries, bounded by the sum of their weights (e.g. free times or bytes) and, when
    `max_age` (seconds, or a function returning them) is given, by age: like the shared cache's expiry, it bounds
    how long a write that bypassed the versions (a queryset update, raw SQL) can go unseen."""

    def __init__(self, most_weight: int, max_age: float | Callable[[], float] | None = None):
        self.most_weight = most_weight
        self.max_age = max_age
        self._entries: OrderedDict[Hashable, tuple[object, int, float]] = OrderedDict()
        self._weight = 0
        # gunicorn's sync workers are single-threaded, but runserver and the tests are not.
        self._lock = threading.Lock()

    def get(self, key: Hashable, default=None):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return default
            max_age = self.max_age() if callable(self.max_age) else self.max_age
            if max_age is not None and time.monotonic() - entry[2] > max_age:
                del self._entries[key]
                self._weight -= entry[1]
                return default
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value, *, weight: int = 1):
        """Keep `value` (not when it alone outweighs the bound) and return it."""
        if weight > self.most_weight:
            return value
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._entries[key] = (value, weight, time.monotonic())
            self._weight += weight
            while self._weight > self.most_weight:
                _, (_, dropped, _) = self._entries.popitem(last=False)
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
