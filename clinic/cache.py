"""Django's Redis cache, without two per-call costs that matter on the availability path.

Django builds a new `redis.Redis` around the shared pool for every cache call; constructing one costs more than a
local Redis round trip (about 70 us), and a patient's page makes several calls. The client is thread-safe and
holds no connection of its own, so one per pool is enough. Django writes several keys inside a MULTI/EXEC pipeline
even when they keep no expiry (the availability versions every booking starts), where one MSET is atomic on its
own. And Django checks every key, character by character, for what memcached would refuse; Redis takes any key,
and a 30-day availability read asks for 31 of them.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def set_many(self, data, timeout):
        if timeout is not None:
            return super().set_many(data, timeout)
        self.get_client(None, write=True).mset({key: self._serializer.dumps(value) for key, value in data.items()})


class ReusingRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def incr_many(self, counters: list[tuple[str, int]]) -> list[int]:
        """Add one to each (key, seconds it lives) counter, starting it at 1, and return the counts: one round trip
        for all of them, where Django's add-then-incr makes two or three for each (throttling, clinic/throttle.py)."""
        pipeline = self._cache.get_client(None, write=True).pipeline(transaction=False)
        for key, seconds in counters:
            key = self.make_and_validate_key(key)
            pipeline.incr(key)
            pipeline.expire(key, seconds, nx=True)
        return pipeline.execute()[::2]

    def validate_key(self, key):
        """Redis keys may be any bytes; the base class warns about keys memcached would refuse."""
