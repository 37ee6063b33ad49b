"""kombu's Redis transport, without building a Redis client for every message it publishes.

kombu wraps its channel's connection pool in a new `redis.Redis` for every publish (`conn_or_acquire`); each
booking publishes once after commit, and the wrapper cost about a quarter of the publish (py-spy, bench/NOTES.md).
The client is thread-safe and holds no connection of its own, so one per pool is enough: a new one is made when
kombu replaces the pool (as it does in a forked worker). The same idea as clinic/cache.py.
"""

from contextlib import contextmanager

from kombu.transport import redis


class Channel(redis.Channel):
    _reused_client = None

    @contextmanager
    def conn_or_acquire(self, client=None):
        if client:
            yield client
            return
        pool = self.pool
        if self._reused_client is None or self._reused_client.connection_pool is not pool:
            self._reused_client = self._create_client()
        yield self._reused_client


class Transport(redis.Transport):
    Channel = Channel
