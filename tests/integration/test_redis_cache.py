"""The shared cache on Redis (clinic/cache.py): what Django's RedisCache does, with fewer round trips."""

import uuid

import pytest

from clinic.cache import ReusingRedisCache

from ..redis_server import given_redis_url

pytestmark = pytest.mark.redis


@pytest.fixture
def cache():
    cache = ReusingRedisCache(given_redis_url(), {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield cache
    cache.delete_many(["day", "week", "page", "count"])  # not clear(): that empties the whole Redis database


def test_keys_written_together_without_expiry_read_back_and_keep(cache):
    cache.set_many({"day": "v1", "week": ["v", 2]}, timeout=None)
    assert cache.get_many(["day", "week"]) == {"day": "v1", "week": ["v", 2]}
    client = cache._cache.get_client()
    assert client.ttl(cache.make_key("day")) == -1  # no expiry


def test_keys_written_together_with_a_timeout_expire(cache):
    cache.set_many({"page": b"bytes", "count": 3}, timeout=30)
    assert cache.get_many(["page", "count"]) == {"page": b"bytes", "count": 3}
    client = cache._cache.get_client()
    assert 0 < client.ttl(cache.make_key("page")) <= 30


def test_counters_start_at_one_count_up_and_keep_the_expiry_of_their_first_count(cache):
    assert cache.incr_many([("page", 30), ("count", 600)]) == [1, 1]
    client = cache._cache.get_client()
    client.expire(cache.make_key("page"), 10)  # as if 20 seconds of the window had passed
    assert cache.incr_many([("page", 30), ("count", 600)]) == [2, 2]
    assert 0 < client.ttl(cache.make_key("page")) <= 10  # a later count does not stretch the window
    assert cache.get("count") == 2  # readable through the cache as any number
