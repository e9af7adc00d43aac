"""The revocation records' Redis client against the machine's real Redis, one that refuses
connections (a closed port) and one that never answers (a socket that listens and reads nothing)."""

import os
import socket
import time
import uuid

import pytest
import redis

from shop_common.redis_client import RedisClient, RedisError
from shop_common.settings import service_defaults
from tests.support import free_port

REDIS_URL = service_defaults("user")["REVOCATION_REDIS_URL"]


@pytest.fixture
def keys():
    """Fresh key names, deleted after the test (redis-py, the tests' own client, checks what was written)."""
    prefix = f"shoptest:redis-client:{uuid.uuid4().hex}:"
    names = [f"{prefix}{number}" for number in range(3)]
    yield names
    redis.Redis.from_url(REDIS_URL).delete(*names)


def test_records_set_in_one_round_trip_are_read_back_with_their_expiry(keys):
    client = RedisClient(REDIS_URL, 0.5)
    client.set_for([(keys[0], "1"), (keys[1], "épique")], 60)
    assert client.mget(keys) == [b"1", "épique".encode(), None]
    other = redis.Redis.from_url(REDIS_URL)
    assert 55 <= other.ttl(keys[0]) <= 60
    assert 55 <= other.ttl(keys[1]) <= 60


def test_one_connection_serves_call_after_call(keys):
    client = RedisClient(REDIS_URL, 0.5)
    for _ in range(5):
        client.mget(keys)
    assert len(client._idle) == 1


def test_an_error_reply_is_raised_after_every_reply_is_read_and_the_next_call_works(keys):
    client = RedisClient(REDIS_URL, 0.5)
    with pytest.raises(RedisError, match="ERR"):
        client.execute([("SET", keys[0], "1"), ("NO-SUCH-COMMAND",), ("SET", keys[1], "2")])
    assert client.mget(keys[:2]) == [b"1", b"2"]


def test_a_closed_port_is_a_redis_error_at_once():
    client = RedisClient(f"redis://127.0.0.1:{free_port()}/0", 0.5)
    started = time.monotonic()
    with pytest.raises(RedisError, match=r"127\.0\.0\.1"):
        client.mget(["any"])
    assert time.monotonic() - started < 0.5


def test_a_redis_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = RedisClient(f"redis://127.0.0.1:{silent.getsockname()[1]}", 0.3)
        started = time.monotonic()
        with pytest.raises(RedisError):
            client.mget(["any"])
        assert 0.25 < time.monotonic() - started < 2
    assert not client._idle


def test_a_connection_dropped_by_redis_is_replaced(keys):
    client = RedisClient(REDIS_URL, 0.5)
    client.set_for([(keys[0], "1")], 60)
    client._idle[0].sock.shutdown(socket.SHUT_RDWR)
    with pytest.raises(RedisError):
        client.mget(keys[:1])
    assert client.mget(keys[:1]) == [b"1"]


def test_a_forked_child_connects_anew_and_leaves_the_parents_connection_alone(keys):
    client = RedisClient(REDIS_URL, 0.5)
    client.set_for([(keys[0], "parent")], 60)
    parents = client._idle[0]
    pid = os.fork()
    if pid == 0:
        os._exit(0 if client.mget(keys[:1]) == [b"parent"] and client._idle[0] is not parents else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert client.mget(keys[:1]) == [b"parent"]


@pytest.mark.parametrize(
    ("url", "greeting"),
    [
        ("redis://127.0.0.1:6379/0", []),
        ("redis://:secret@redis.example:6380/2", [("AUTH", "secret"), ("SELECT", "2")]),
        ("redis://shop:p%40ss@redis.example", [("AUTH", "shop", "p@ss")]),
    ],
)
def test_the_url_gives_address_login_and_database(url, greeting):
    assert RedisClient(url, 0.5).greeting == greeting


def test_a_url_of_another_scheme_is_refused():
    with pytest.raises(ValueError, match="redis://"):
        RedisClient("rediss://127.0.0.1:6379", 0.5)
