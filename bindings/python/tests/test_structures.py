"""Lists, sets, hashes and sorted sets: the redis-py-style methods of
nycache.Cache over the C ABI (Redis semantics, reply shapes, errors), and a
differential run against redis-py and a real redis-server when both exist."""

import math
import random
import shutil
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from conftest import unavailable

import nycache
from nycache import InvalidArgument, NotANumber, NotFound, Overflow, WrongType


@pytest.fixture
def cache():
    with nycache.Cache(max_memory="16MiB", hash_seed=7) as c:
        yield c


# -- lists -------------------------------------------------------------------


def test_push_and_pop_order(cache):
    assert cache.lpush("l", b"a", b"b", b"c") == 3  # one after the other: c b a
    assert cache.lrange("l", 0, -1) == [b"c", b"b", b"a"]
    assert cache.rpush("l", b"d", b"e") == 5
    assert cache.lrange("l", 0, -1) == [b"c", b"b", b"a", b"d", b"e"]
    assert cache.lpop("l") == b"c"
    assert cache.rpop("l") == b"e"
    assert cache.llen("l") == 3
    assert cache.lpop("missing") is None
    assert cache.rpop("missing") is None


def test_pop_with_count(cache):
    cache.rpush("l", *[str(i) for i in range(6)])
    assert cache.lpop("l", 2) == [b"0", b"1"]
    assert cache.rpop("l", 2) == [b"5", b"4"]  # tail first
    assert cache.lpop("l", 0) == []  # an existing key: empty array
    assert cache.rpop("l", 10) == [b"3", b"2"]  # up to count
    assert not cache.exists("l")  # the list went with its last element
    assert cache.lpop("l", 1) is None  # no such key: Redis's null array
    assert cache.lpop("l", 0) is None
    assert cache.rpop("l", 3) is None
    with pytest.raises(InvalidArgument):
        cache.lpop("l", -1)
    with pytest.raises(InvalidArgument):
        cache.rpop("l", 2**63)
    with pytest.raises(TypeError):
        cache.lpop("l", "2")


def test_lrange_indexes(cache):
    cache.rpush("l", *b"abcde")  # ints: stored as their text
    assert cache.lrange("l", 0, -1) == [b"97", b"98", b"99", b"100", b"101"]
    cache.delete("l")
    cache.rpush("l", "a", "b", "c", "d", "e")
    assert cache.lrange("l", 1, 2) == [b"b", b"c"]
    assert cache.lrange("l", -2, -1) == [b"d", b"e"]
    assert cache.lrange("l", -100, 1) == [b"a", b"b"]  # clamped
    assert cache.lrange("l", 3, 100) == [b"d", b"e"]
    assert cache.lrange("l", 4, 2) == []
    assert cache.lrange("l", 5, 10) == []
    assert cache.lrange("l", -1, -2) == []
    assert cache.lrange("l", -(2**63), 2**63 - 1) == [b"a", b"b", b"c", b"d", b"e"]
    assert cache.lrange("missing", 0, -1) == []
    with pytest.raises(InvalidArgument):
        cache.lrange("l", 0, 2**63)
    with pytest.raises(TypeError):
        cache.lrange("l", 0, True)
    with pytest.raises(TypeError):
        cache.lrange("l", 0.0, 1)


def test_lindex_lset(cache):
    cache.rpush("l", "a", "b", "c")
    assert cache.lindex("l", 0) == b"a"
    assert cache.lindex("l", -1) == b"c"
    assert cache.lindex("l", 3) is None
    assert cache.lindex("l", -4) is None
    assert cache.lindex("missing", 0) is None
    assert cache.lset("l", -1, b"z") is True
    assert cache.lset("l", 0, "y") is True
    assert cache.lrange("l", 0, -1) == [b"y", b"b", b"z"]
    with pytest.raises(InvalidArgument, match="index out of range"):
        cache.lset("l", 3, b"x")
    with pytest.raises(ValueError):
        cache.lset("l", -4, b"x")
    with pytest.raises(NotFound, match="no such key") as e:
        cache.lset("missing", 0, b"x")
    assert isinstance(e.value, KeyError)
    assert not cache.exists("missing")


def test_lrem(cache):
    cache.rpush("l", "a", "b", "a", "c", "a", "b")
    assert cache.lrem("l", 1, "a") == 1  # from the head
    assert cache.lrange("l", 0, -1) == [b"b", b"a", b"c", b"a", b"b"]
    assert cache.lrem("l", -1, "b") == 1  # from the tail
    assert cache.lrange("l", 0, -1) == [b"b", b"a", b"c", b"a"]
    assert cache.lrem("l", 0, b"a") == 2  # all
    assert cache.lrange("l", 0, -1) == [b"b", b"c"]
    assert cache.lrem("l", 5, "zz") == 0
    assert cache.lrem("missing", 0, "a") == 0
    assert cache.lrem("l", 0, "b") + cache.lrem("l", 0, "c") == 2
    assert not cache.exists("l")


def test_ltrim(cache):
    cache.rpush("l", *"abcdef")
    assert cache.ltrim("l", 1, -2) is True
    assert cache.lrange("l", 0, -1) == [b"b", b"c", b"d", b"e"]
    assert cache.ltrim("l", -2, 100) is True
    assert cache.lrange("l", 0, -1) == [b"d", b"e"]
    assert cache.ltrim("l", 5, 10) is True  # an empty range empties the list
    assert not cache.exists("l")
    assert cache.ltrim("missing", 0, 1) is True


def test_push_needs_values_and_elements_are_bytes_in_bytes_out(cache):
    with pytest.raises(InvalidArgument):
        cache.lpush("l")
    with pytest.raises(InvalidArgument):
        cache.rpush("l")
    assert not cache.exists("l")
    cache.rpush("l", b"raw", "ключ", 42, -7, 1.5, bytearray(b"ba"), memoryview(b"mv"), b"")
    assert cache.lrange("l", 0, -1) == [b"raw", "ключ".encode(), b"42", b"-7", b"1.5", b"ba", b"mv", b""]
    for bad in (None, True, object(), [b"x"]):
        with pytest.raises(TypeError):
            cache.rpush("l", bad)
    assert cache.llen("l") == 8  # a refused call pushed nothing
    assert cache.rpush(b"bytes-key", b"x") == 1
    assert cache.lpop("bytes-key") == b"x"


def test_large_lists_cross_the_compact_encoding(cache):
    values = [("%d" % i).encode() * (i % 7) for i in range(300)] + [b"x" * 100]
    assert cache.rpush("l", *values) == 301
    assert cache.lrange("l", 0, -1) == values
    assert cache.lindex("l", -1) == b"x" * 100
    assert cache.lrange("l", 150, 152) == values[150:153]
    assert cache.lpop("l", 300) == values[:300]
    assert cache.lrange("l", 0, -1) == [b"x" * 100]


# -- sets --------------------------------------------------------------------


def test_sadd_srem_sismember_smembers_scard(cache):
    assert cache.sadd("s", "a", "b", "a") == 2  # duplicates count once
    assert cache.sadd("s", "b", "c") == 1
    assert cache.smembers("s") == {b"a", b"b", b"c"}
    assert cache.scard("s") == 3
    assert cache.sismember("s", "a") is True
    assert cache.sismember("s", b"z") is False
    assert cache.sismember("missing", "a") is False
    assert cache.srem("s", "a", "zz") == 1
    assert cache.srem("missing", "a") == 0
    assert cache.smembers("missing") == set()
    assert cache.scard("missing") == 0
    assert cache.srem("s", "b", "c") == 2
    assert not cache.exists("s")  # removed with its last member
    with pytest.raises(InvalidArgument):
        cache.sadd("s")
    with pytest.raises(InvalidArgument):
        cache.srem("s")


def test_integer_and_large_sets(cache):
    assert cache.sadd("ints", 1, 2, 3, -5, "007") == 5  # "007" is not canonical
    assert cache.smembers("ints") == {b"1", b"2", b"3", b"-5", b"007"}
    members = {b"m%d" % i for i in range(600)}
    assert cache.sadd("big", *members) == 600
    assert cache.smembers("big") == members
    assert cache.scard("big") == 600


def test_spop_and_srandmember(cache):
    assert cache.spop("missing") is None
    assert cache.spop("missing", 3) == []
    assert cache.srandmember("missing") is None
    assert cache.srandmember("missing", 3) == []
    cache.sadd("s", *"abcde")
    all_ = {b"a", b"b", b"c", b"d", b"e"}
    assert cache.srandmember("s") in all_
    picked = cache.srandmember("s", 3)
    assert len(picked) == 3 and len(set(picked)) == 3 and set(picked) <= all_
    assert sorted(cache.srandmember("s", 10)) == sorted(all_)  # at most all, distinct
    repeats = cache.srandmember("s", -20)
    assert len(repeats) == 20 and set(repeats) <= all_  # exactly -count, repeats allowed
    assert cache.srandmember("s", 0) == []
    assert cache.scard("s") == 5  # left in the set
    popped = cache.spop("s")
    assert popped in all_ and not cache.sismember("s", popped)
    more = cache.spop("s", 2)
    assert isinstance(more, list) and len(more) == 2 and popped not in more
    assert cache.spop("s", 0) == []
    rest = cache.spop("s", 10)
    assert {popped, *more, *rest} == all_
    assert not cache.exists("s")
    with pytest.raises(InvalidArgument):
        cache.spop("s", -1)


def test_set_algebra(cache):
    cache.sadd("a", "1", "2", "3", "4")
    cache.sadd("b", "3", "4", "5")
    cache.sadd("c", "4", "6")
    assert cache.sinter("a", "b") == {b"3", b"4"}
    assert cache.sinter(["a", "b", "c"]) == {b"4"}
    assert cache.sinter(["a"], "b") == {b"3", b"4"}
    assert cache.sinter("a", "missing") == set()
    assert cache.sunion("a", "b", "c") == {b"1", b"2", b"3", b"4", b"5", b"6"}
    assert cache.sunion(("missing", "c")) == {b"4", b"6"}
    assert cache.sdiff("a", "b") == {b"1", b"2"}
    assert cache.sdiff(["a", "b", "c"]) == {b"1", b"2"}
    assert cache.sdiff("missing", "a") == set()
    assert cache.sdiff("a") == {b"1", b"2", b"3", b"4"}
    with pytest.raises(InvalidArgument):
        cache.sinter([])
    cache.rpush("list", "x")
    for op in (cache.sinter, cache.sunion, cache.sdiff):
        with pytest.raises(WrongType):
            op("a", "list")


# -- hashes ------------------------------------------------------------------


def test_hset_forms(cache):
    assert cache.hset("h", "f", "v") == 1
    assert cache.hset("h", "f", b"v2") == 0  # updated, not new
    assert cache.hset("h", mapping={"a": 1, b"b": 2.5}) == 2
    assert cache.hset("h", items=["c", "3", "a", "one"]) == 1
    assert cache.hset("h", "d", "4", mapping={"e": "5"}, items=["g", "7"]) == 3
    assert cache.hgetall("h") == {
        b"f": b"v2",
        b"a": b"one",
        b"b": b"2.5",
        b"c": b"3",
        b"d": b"4",
        b"e": b"5",
        b"g": b"7",
    }
    # Within one call the last pair for a field wins: items, key, mapping.
    assert cache.hset("h2", "k", "from-key", mapping={"k": "from-mapping"}, items=["k", "from-items"]) == 1
    assert cache.hget("h2", "k") == b"from-mapping"
    with pytest.raises(InvalidArgument):
        cache.hset("h")
    with pytest.raises(InvalidArgument):
        cache.hset("h", mapping={})
    with pytest.raises(InvalidArgument):
        cache.hset("h", items=["odd"])
    with pytest.raises(TypeError):
        cache.hset("h", "f")  # value None
    assert cache.hset("h", "empty", b"") == 1 and cache.hget("h", "empty") == b""


def test_hash_reads(cache):
    cache.hset("h", mapping={"x": "1", "y": "2", "z": "3"})
    assert cache.hget("h", "x") == b"1"
    assert cache.hget("h", "nope") is None
    assert cache.hget("missing", "x") is None
    assert cache.hexists("h", "y") is True
    assert cache.hexists("h", "nope") is False
    assert cache.hexists("missing", "y") is False
    assert cache.hkeys("h") == [b"x", b"y", b"z"]  # insertion order while small
    assert cache.hvals("h") == [b"1", b"2", b"3"]
    assert cache.hlen("h") == 3
    assert cache.hkeys("missing") == [] and cache.hvals("missing") == []
    assert cache.hgetall("missing") == {} and cache.hlen("missing") == 0
    assert cache.hdel("h", "x", "nope") == 1
    assert cache.hdel("missing", "x") == 0
    assert cache.hdel("h", "y", "z") == 2
    assert not cache.exists("h")
    with pytest.raises(InvalidArgument):
        cache.hdel("h")


def test_large_hash(cache):
    mapping = {b"field-%d" % i: b"v" * (i % 80) for i in range(300)}
    assert cache.hset("h", mapping=mapping) == 300
    assert cache.hgetall("h") == mapping
    assert sorted(cache.hkeys("h")) == sorted(mapping)
    assert sorted(cache.hvals("h")) == sorted(mapping.values())
    assert dict(zip(cache.hkeys("h"), cache.hvals("h"))) == mapping  # the same order


def test_hincrby_hsetnx(cache):
    assert cache.hincrby("h", "n") == 1
    assert cache.hincrby("h", "n", 10) == 11
    assert cache.hincrby("h", "n", -20) == -9
    assert cache.hget("h", "n") == b"-9"
    cache.hset("h", "text", "abc")
    with pytest.raises(NotANumber):
        cache.hincrby("h", "text")
    cache.hset("h", "big", str(2**63 - 1))
    with pytest.raises(Overflow):
        cache.hincrby("h", "big")
    assert cache.hget("h", "big") == str(2**63 - 1).encode()  # unchanged
    with pytest.raises(Overflow):
        cache.hincrby("h", "n", 2**63)
    with pytest.raises(TypeError):
        cache.hincrby("h", "n", 1.5)
    assert cache.hsetnx("h", "new", "v") is True
    assert cache.hsetnx("h", "new", "w") is False
    assert cache.hget("h", "new") == b"v"
    assert cache.hsetnx("fresh", "f", "v") == 1  # redis-py's int reply compares equal


# -- sorted sets -------------------------------------------------------------


def test_zadd_and_flags(cache):
    assert cache.zadd("z", {"a": 1, "b": 2}) == 2
    assert cache.zadd("z", {"a": 5, "c": 3}) == 1  # a updated, c new
    assert cache.zscore("z", "a") == 5.0
    assert cache.zadd("z", {"a": 6, "d": 4}, ch=True) == 2  # added + changed
    assert cache.zadd("z", {"a": 6}, ch=True) == 0  # the same score: unchanged
    assert cache.zadd("z", {"a": 0, "e": 1}, nx=True) == 1
    assert cache.zscore("z", "a") == 6.0  # nx never updates
    assert cache.zadd("z", {"a": 7, "f": 1}, xx=True) == 0
    assert cache.zscore("z", "a") == 7.0 and cache.zscore("z", "f") is None
    assert cache.zadd("z", {"a": 1, "g": 9}, gt=True, ch=True) == 1  # g added, a not lowered
    assert cache.zscore("z", "a") == 7.0
    assert cache.zadd("z", {"a": 1}, lt=True, ch=True) == 1
    assert cache.zscore("z", "a") == 1.0
    assert cache.zadd("z", {"a": 2, "h": 0}, xx=True, gt=True, ch=True) == 1  # xx + gt is allowed
    assert cache.zscore("z", "h") is None
    assert cache.zadd("none", {"a": 1}, xx=True) == 0
    assert not cache.exists("none")  # xx on an absent key creates nothing


@pytest.mark.parametrize(
    "flags",
    [dict(nx=True, xx=True), dict(gt=True, lt=True), dict(nx=True, gt=True), dict(nx=True, lt=True)],
)
def test_incompatible_zadd_flags(cache, flags):
    with pytest.raises(InvalidArgument):
        cache.zadd("z", {"a": 1}, **flags)
    with pytest.raises(InvalidArgument):
        cache.zadd("z", {"a": 1}, incr=True, **flags)
    cache.set("string", b"v")
    with pytest.raises(InvalidArgument):  # checked before the key, as Redis does
        cache.zadd("string", {"a": 1}, **flags)
    assert not cache.exists("z")


def test_zadd_incr(cache):
    assert cache.zadd("z", {"a": 1.5}, incr=True) == 1.5
    assert cache.zadd("z", {"a": 2}, incr=True) == 3.5
    assert cache.zadd("z", {"a": 1}, incr=True, nx=True) is None  # a exists
    assert cache.zadd("z", {"b": 1}, incr=True, xx=True) is None  # b does not
    assert cache.zadd("z", {"a": -1}, incr=True, gt=True) is None  # not greater
    assert cache.zadd("z", {"a": 1}, incr=True, gt=True) == 4.5
    assert cache.zadd("z", {"b": 1}, incr=True, ch=True) == 1.0
    assert cache.zscore("z", "b") == 1.0
    with pytest.raises(InvalidArgument):
        cache.zadd("z", {"a": 1, "b": 2}, incr=True)
    with pytest.raises(InvalidArgument):
        cache.zadd("z", {}, incr=True)
    cache.zadd("z", {"i": math.inf})
    with pytest.raises(NotANumber):
        cache.zadd("z", {"i": -math.inf}, incr=True)  # inf + -inf
    assert cache.zscore("z", "i") == math.inf


def test_zadd_scores(cache):
    assert cache.zadd("z", {"s": "1.5", "p": "+inf", "n": b"-inf", "e": 1e20, "t": 0.1, "big": 2**70}) == 6
    assert cache.zscore("z", "s") == 1.5
    assert cache.zscore("z", "p") == math.inf
    assert cache.zscore("z", "n") == -math.inf
    assert cache.zscore("z", "big") == float(2**70)
    assert cache.zrange("z", 0, -1, withscores=True) == [
        (b"n", -math.inf),
        (b"t", 0.1),
        (b"s", 1.5),
        (b"e", 1e20),
        (b"big", float(2**70)),
        (b"p", math.inf),
    ]  # scores read back from Redis's text are the exact doubles
    for bad in (math.nan, "nan", "abc", "", " 1", "1_0", "1e400"):
        with pytest.raises(NotANumber):
            cache.zadd("z", {"x": bad})
    with pytest.raises(InvalidArgument):  # flags are checked before scores, as Redis does
        cache.zadd("z", {"x": "abc"}, nx=True, xx=True)
    for bad in (None, True, [1]):
        with pytest.raises(TypeError):
            cache.zadd("z", {"x": bad})
    with pytest.raises(InvalidArgument):
        cache.zadd("z", {})
    assert cache.zscore("z", "x") is None


def test_zrem_zscore_zincrby_zcard_zrank(cache):
    cache.zadd("z", {"a": 1, "b": 2, "c": 3})
    assert cache.zrank("z", "a") == 0
    assert cache.zrank("z", "c") == 2
    assert cache.zrank("z", "nope") is None
    assert cache.zrank("missing", "a") is None
    assert cache.zscore("missing", "a") is None
    assert cache.zincrby("z", 10, "a") == 11.0
    assert cache.zrank("z", "a") == 2
    assert cache.zincrby("z", "-0.5", "new") == -0.5
    assert cache.zincrby("fresh", 2.25, b"m") == 2.25
    with pytest.raises(NotANumber):
        cache.zincrby("z", math.nan, "a")
    assert cache.zcard("z") == 4
    assert cache.zcard("missing") == 0
    assert cache.zrem("z", "a", "nope") == 1
    assert cache.zrem("missing", "a") == 0
    assert cache.zrem("z", "b", "c", "new") == 3
    assert not cache.exists("z")
    with pytest.raises(InvalidArgument):
        cache.zrem("z")


def test_zrange_by_index(cache):
    cache.zadd("z", {"b": 1, "a": 1, "c": 2, "d": 3, "e": 3})
    assert cache.zrange("z", 0, -1) == [b"a", b"b", b"c", b"d", b"e"]  # ties by member
    assert cache.zrange("z", 0, -1, desc=True) == [b"e", b"d", b"c", b"b", b"a"]
    assert cache.zrange("z", 1, 2) == [b"b", b"c"]
    assert cache.zrange("z", -2, -1) == [b"d", b"e"]
    assert cache.zrange("z", 0, 0, desc=True) == [b"e"]
    assert cache.zrange("z", -100, 100) == [b"a", b"b", b"c", b"d", b"e"]
    assert cache.zrange("z", 3, 1) == []
    assert cache.zrange("z", 5, 9) == []
    assert cache.zrange("missing", 0, -1) == []
    assert cache.zrange("z", 0, 1, withscores=True) == [(b"a", 1.0), (b"b", 1.0)]
    assert cache.zrange("z", 0, 1, desc=True, withscores=True) == [(b"e", 3.0), (b"d", 3.0)]
    assert cache.zrange("z", 0, 0, withscores=True, score_cast_func=int) == [(b"a", 1)]
    assert cache.zrevrange("z", 0, 1) == [b"e", b"d"]
    assert cache.zrevrange("z", 0, 0, withscores=True) == [(b"e", 3.0)]
    with pytest.raises(InvalidArgument):
        cache.zrange("z", 0, 2**64)


def test_zrangebyscore_and_zcount(cache):
    cache.zadd("z", {"a": 1, "b": 1.5, "c": 2, "d": 2, "e": 3, "n": -math.inf, "p": math.inf})
    assert cache.zrangebyscore("z", 1, 2) == [b"a", b"b", b"c", b"d"]
    assert cache.zrangebyscore("z", "(1", 2) == [b"b", b"c", b"d"]
    assert cache.zrangebyscore("z", 1, "(2") == [b"a", b"b"]
    assert cache.zrangebyscore("z", "(1", "(2") == [b"b"]
    assert cache.zrangebyscore("z", b"(1.5", b"3") == [b"c", b"d", b"e"]
    assert cache.zrangebyscore("z", "-inf", "+inf") == [b"n", b"a", b"b", b"c", b"d", b"e", b"p"]
    assert cache.zrangebyscore("z", "(-inf", "(inf") == [b"a", b"b", b"c", b"d", b"e"]
    assert cache.zrangebyscore("z", -math.inf, 1) == [b"n", b"a"]
    assert cache.zrangebyscore("z", 3, 1) == []
    assert cache.zrangebyscore("z", "(2", 2) == []
    assert cache.zrangebyscore("missing", "-inf", "+inf") == []
    assert cache.zrangebyscore("z", 1, 2, withscores=True) == [(b"a", 1.0), (b"b", 1.5), (b"c", 2.0), (b"d", 2.0)]
    # LIMIT
    assert cache.zrangebyscore("z", "-inf", "+inf", start=1, num=2) == [b"a", b"b"]
    assert cache.zrangebyscore("z", "-inf", "+inf", 5, -1) == [b"e", b"p"]  # negative num: the rest
    assert cache.zrangebyscore("z", "-inf", "+inf", 0, 0) == []
    assert cache.zrangebyscore("z", "-inf", "+inf", -1, 2) == []  # negative start: nothing
    assert cache.zrangebyscore("z", 1, 3, 10, 5) == []
    assert cache.zrangebyscore("z", 1, 3, 1, 2, withscores=True) == [(b"b", 1.5), (b"c", 2.0)]
    with pytest.raises(InvalidArgument):
        cache.zrangebyscore("z", 1, 2, start=1)
    with pytest.raises(InvalidArgument):
        cache.zrangebyscore("z", 1, 2, num=1)
    for bad in ("abc", "(", "nan", math.nan, "(x", ""):
        with pytest.raises(NotANumber):
            cache.zrangebyscore("z", bad, 2)
        with pytest.raises(NotANumber):
            cache.zcount("z", 1, bad)
    assert cache.zcount("z", 1, 2) == 4
    assert cache.zcount("z", "(1", "(2") == 1
    assert cache.zcount("z", "-inf", "+inf") == 7
    assert cache.zcount("z", 4, 5) == 0
    assert cache.zcount("missing", 0, 1) == 0


def test_zpopmin_zpopmax(cache):
    assert cache.zpopmin("missing") == []
    assert cache.zpopmax("missing", 3) == []
    cache.zadd("z", {"a": 1, "b": 2, "c": 2, "d": 4})
    assert cache.zpopmin("z") == [(b"a", 1.0)]
    assert cache.zpopmax("z") == [(b"d", 4.0)]
    assert cache.zpopmin("z", 0) == []
    assert cache.zpopmax("z", 1) == [(b"c", 2.0)]  # equal scores: highest member first
    cache.zadd("z", {"x": 0.5, "y": 9})
    assert cache.zpopmin("z", 10) == [(b"x", 0.5), (b"b", 2.0), (b"y", 9.0)]
    assert not cache.exists("z")
    with pytest.raises(InvalidArgument):
        cache.zpopmin("z", -1)
    with pytest.raises(InvalidArgument):
        cache.zpopmax("z", -1)


def test_large_sorted_set(cache):
    rng = random.Random(3)
    mapping = {b"member-%04d" % i: float(rng.randrange(50)) for i in range(1000)}
    assert cache.zadd("z", mapping) == 1000
    expected = sorted(mapping, key=lambda m: (mapping[m], m))
    assert cache.zrange("z", 0, -1) == expected
    assert cache.zrange("z", 0, -1, desc=True) == expected[::-1]
    assert cache.zrangebyscore("z", 10, "(20") == [m for m in expected if 10 <= mapping[m] < 20]
    assert cache.zrank("z", expected[500]) == 500
    assert cache.zcount("z", "(10", 20) == sum(1 for s in mapping.values() if 10 < s <= 20)


# -- types, keys, serializer, limits ------------------------------------------

# One call of each method on a key: (method, args).
CALLS = {
    "list": [
        ("lpush", ("x",)),
        ("rpush", ("x",)),
        ("lpop", ()),
        ("rpop", ()),
        ("lpop", (2,)),
        ("lrange", (0, -1)),
        ("llen", ()),
        ("lindex", (0,)),
        ("lset", (0, "x")),
        ("lrem", (0, "x")),
        ("ltrim", (0, 1)),
    ],
    "set": [
        ("sadd", ("x",)),
        ("srem", ("x",)),
        ("sismember", ("x",)),
        ("smembers", ()),
        ("scard", ()),
        ("spop", ()),
        ("spop", (2,)),
        ("srandmember", ()),
        ("srandmember", (-2,)),
    ],
    "hash": [
        ("hset", ("f", "v")),
        ("hsetnx", ("f", "v")),
        ("hget", ("f",)),
        ("hdel", ("f",)),
        ("hexists", ("f",)),
        ("hkeys", ()),
        ("hvals", ()),
        ("hlen", ()),
        ("hgetall", ()),
        ("hincrby", ("f", 1)),
    ],
    "zset": [
        ("zadd", ({"x": 1},)),
        ("zrem", ("x",)),
        ("zscore", ("x",)),
        ("zincrby", (1, "x")),
        ("zcard", ()),
        ("zrank", ("x",)),
        ("zrange", (0, -1)),
        ("zrangebyscore", ("-inf", "+inf")),
        ("zcount", (0, 1)),
        ("zpopmin", ()),
        ("zpopmax", (2,)),
    ],
}


def _make(cache, kind, key):
    if kind == "string":
        cache.set(key, b"text")
    elif kind == "list":
        cache.rpush(key, "e")
    elif kind == "set":
        cache.sadd(key, "e")
    elif kind == "hash":
        cache.hset(key, "e", "1")
    else:
        cache.zadd(key, {"e": 1})


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_wrong_type_both_ways(cache, kind):
    others = ["string"] + [k for k in CALLS if k != kind]
    for other in others:
        key = f"{other}-key"
        _make(cache, other, key)
        for method, args in CALLS[kind]:
            with pytest.raises(WrongType, match="WRONGTYPE"):
                getattr(cache, method)(key, *args)
        assert cache.exists(key)  # nothing changed
    # The other way: string commands on a collection.
    _make(cache, kind, "coll")
    with pytest.raises(WrongType):
        cache.get("coll")
    with pytest.raises(WrongType):
        cache.incr("coll")
    with pytest.raises(TypeError):  # WrongType is a TypeError too
        cache.gets("coll")
    with pytest.raises(WrongType):  # not a version mismatch: another type
        cache.cas("coll", b"v", 1)
    assert cache.get_many(["coll"]) == {}  # batches see a collection as absent, as MGET
    assert "coll" in cache and cache.exists("coll")
    assert cache.expire("coll", 60) and 0 < cache.ttl("coll") <= 60
    assert "coll" in list(cache.keys("co*"))
    cache.set("coll", b"replaced")  # set replaces a collection
    assert cache.get("coll") == b"replaced"
    _make(cache, kind, "coll2")
    assert cache.delete("coll2") and not cache.exists("coll2")


def test_writes_keep_the_ttl(cache):
    cache.rpush("l", "a")
    cache.expire("l", 100)
    cache.rpush("l", "b")
    cache.lpop("l")
    assert 0 < cache.ttl("l") <= 100
    cache.lpop("l")
    assert not cache.exists("l")
    cache.rpush("l", "c")  # a new list, without the old TTL
    assert cache.ttl("l") is None


def test_the_serializer_does_not_apply_to_elements():
    with nycache.Cache(serializer="pickle") as c:
        c.rpush("l", b"raw", "text", 5)
        assert c.lrange("l", 0, -1) == [b"raw", b"text", b"5"]
        c.hset("h", "f", "v")
        assert c.hget("h", "f") == b"v"
        c.set("plain", {"a": 1})
        assert c.get("plain") == {"a": 1}


def test_key_and_element_limits():
    with nycache.Cache(max_key_size=8, max_value_size=16) as c:
        with pytest.raises(nycache.KeyTooLarge):
            c.rpush("k" * 9, "x")
        with pytest.raises(nycache.ValueTooLarge):
            c.rpush("l", "ok", "x" * 17)
        assert not c.exists("l")  # nothing pushed
        with pytest.raises(nycache.TooLarge):
            c.hset("h", "f", "v" * 17)
        with pytest.raises(nycache.KeyTooLarge):
            c.llen("k" * 9)


def test_score_text_redis_refuses_is_refused():
    with nycache.Cache() as c:
        for text in ("1e-400", "\u0661", "1_0", " 1", ""):
            with pytest.raises(NotANumber):
                c.zadd("z", {"m": text})
        assert not c.exists("z")
        assert c.zadd("z", {"m": "1e-300"}) == 1  # small, but not underflow


def test_a_collection_cannot_outgrow_its_shard():
    with nycache.Cache(max_memory="1MiB", shards=1) as c:
        with pytest.raises(nycache.TooLarge):
            c.rpush("l", *[b"x" * 1000] * 2000)
        assert not c.exists("l")


def test_keys_may_be_str_bytes_or_bytes_like(cache):
    cache.sadd("ключ", "a")
    assert cache.smembers("ключ".encode()) == {b"a"}
    assert cache.smembers(bytearray("ключ".encode())) == {b"a"}
    with pytest.raises(TypeError):
        cache.smembers(5)


def test_closed_cache_raises():
    c = nycache.Cache()
    c.rpush("l", "a")
    c.close()
    for call in (
        lambda: c.rpush("l", "b"),
        lambda: c.lpop("l"),
        lambda: c.lrange("l", 0, -1),
        lambda: c.llen("l"),
        lambda: c.sismember("s", "a"),
        lambda: c.zscore("z", "a"),
        lambda: c.sinter("a", "b"),
        lambda: c.hset("h", "f", "v"),
        lambda: c.zadd("z", {"a": 1}),
    ):
        with pytest.raises(nycache.CacheClosed):
            call()


def test_method_signatures_follow_redis_py(cache):
    # Positional orders as redis-py's.
    assert cache.zadd("z", {"a": 1}, False, False, True) == 1  # nx, xx, ch
    assert cache.zadd("z", {"a": 1}, False, False, False, True) == 2.0  # incr
    assert cache.zrange("z", 0, -1, True, True) == [(b"a", 2.0)]  # desc, withscores
    assert cache.zrangebyscore("z", 0, 5, 0, 1, True) == [(b"a", 2.0)]  # start, num, withscores
    assert cache.zincrby("z", 1, "a") == 3.0  # amount, value
    assert cache.hset("h", "k", "v", {"m": "w"}) == 2  # key, value, mapping
    assert cache.hincrby("h", "n", 5) == 5
    assert cache.lrem("l", 0, "x") == 0  # count, value
    assert cache.rpush("l2", "a") == 1
    assert cache.lset("l2", 0, "x") is True  # index, value
    assert cache.lrange("l2", 0, -1) == [b"x"]


# -- threads -----------------------------------------------------------------


def test_threads_share_collections():
    with nycache.Cache(max_memory="64MiB") as c:
        threads, per = 8, 500
        errors = []
        popped = [[] for _ in range(threads)]

        def work(t):
            try:
                for i in range(per):
                    c.rpush("q", f"{t}:{i}")
                    c.sadd("s", f"{t}:{i}", "shared")
                    c.hincrby("h", "n", 1)
                    c.zincrby("z", 1, "m")
                    c.zadd("z", {f"{t}:{i}": i})
                    if i % 2:
                        v = c.lpop("q")
                        if v is not None:
                            popped[t].append(v)
                    if i % 50 == 0:
                        c.lrange("q", 0, -1)
                        c.smembers("s")
                        c.zrangebyscore("z", 0, "+inf", 0, 10, withscores=True)
                        c.hgetall("h")
            except Exception as e:  # pragma: no cover - reported below
                errors.append(e)

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors
        remaining = c.lrange("q", 0, -1)
        all_popped = [v for p in popped for v in p]
        assert len(all_popped) + len(remaining) == threads * per
        assert len(set(all_popped) | set(remaining)) == threads * per  # nothing lost or doubled
        assert c.scard("s") == threads * per + 1
        assert c.hget("h", "n") == str(threads * per).encode()
        assert c.zscore("z", "m") == float(threads * per)
        assert c.zcard("z") == threads * per + 1


# -- differential: nycache's methods against redis-py + redis-server ---------


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_client():
    server = shutil.which("redis-server")
    if server is None:
        unavailable("differential test skipped: redis-server is not installed")
    try:
        import redis
    except ImportError:
        unavailable("differential test skipped: the redis Python package (redis-py) is not importable")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="nycache-redis-")
    proc = subprocess.Popen(
        [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", workdir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        client = redis.Redis(host="127.0.0.1", port=port, protocol=2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    unavailable("differential test skipped: redis-server did not start")
                time.sleep(0.05)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _category(exc):
    """An error of either side as a category, for comparison."""
    import redis

    if isinstance(exc, nycache.Error):
        return {
            WrongType: "wrongtype",
            NotANumber: "nan",
            Overflow: "overflow",
            NotFound: "nokey",
            InvalidArgument: "invalid",
        }.get(type(exc), type(exc).__name__)
    if isinstance(exc, redis.exceptions.DataError):  # redis-py's own argument checks
        return "invalid"
    if isinstance(exc, redis.exceptions.ResponseError):
        text = str(exc)
        if text.startswith("WRONGTYPE"):
            return "wrongtype"
        if "no such key" in text:
            return "nokey"
        if "overflow" in text:
            return "overflow"
        if any(
            s in text for s in ("not a valid float", "is not a float", "not a number", "hash value is not an integer")
        ):
            return "nan"
        return "invalid"
    raise exc


def _call(target, method, args, kwargs):
    try:
        return ("ok", getattr(target, method)(*args, **kwargs))
    except Exception as e:  # compared by category
        return ("error", _category(e))


class _Gen:
    """Random commands over a few keys per type plus keys shared by all
    types (so wrong-type calls happen), with elements and scores that
    cross Redis's edge cases and the compact encodings' thresholds."""

    KEYS = {
        "list": ["l1", "l2", "l3"],
        "set": ["s1", "s2", "s3"],
        "hash": ["h1", "h2", "h3"],
        "zset": ["z1", "z2", "z3"],
    }
    SHARED = ["any1", b"any2"]

    def __init__(self, seed):
        self.r = random.Random(seed)

    def key(self, kind):
        r = self.r
        return r.choice(self.SHARED) if r.random() < 0.15 else r.choice(self.KEYS[kind])

    def elem(self):
        r = self.r
        x = r.random()
        if x < 0.45:
            return r.choice(["a", "b", "c", "d", "e", "f", "g", "h"])
        if x < 0.6:
            return r.choice([0, 1, 2, 3, -1, 7, 2**63 - 1, -(2**63)])
        if x < 0.7:
            return r.choice(["007", "-0", "+1", b"", "1.5", 1.5, "ключ"])
        if x < 0.8:
            return b"long-" + bytes([r.randrange(97, 100)]) * 65  # over the 64-byte threshold
        return "m%d" % r.randrange(400)

    def many(self):
        """0 to 80 elements: none is Redis's arity error; bulks cross the thresholds."""
        return [self.elem() for _ in range(self.r.choice([1, 1, 2, 3, 0, 40, 80]))]

    def score(self):
        r = self.r
        return (
            r.choice(
                [0, 1, 2, 2, 3, -1, 0.5, 0.1, 1 / 3, 1e20, -0.0, math.inf, -math.inf, r.randrange(100), "2.5", "-inf"]
            )
            if r.random() > 0.01
            else math.nan
        )

    def bound(self):
        r = self.r
        value = r.choice([0, 1, 2, 3, 0.5, 1.5, 50, -1, "-inf", "+inf", "inf"])
        if r.random() < 0.3 and value not in ("-inf", "+inf", "inf"):
            return "(" + repr(float(value))
        if r.random() < 0.01:
            return "nope"
        return value

    def index(self):
        return self.r.choice([0, 1, 2, -1, -2, 3, 5, -5, 50, -50, 200])

    def command(self):
        r = self.r
        kind = r.choice(sorted(self.KEYS))
        x = r.random()
        if x < 0.02:
            return "string", "set", (r.choice(self.SHARED), b"v"), {}
        if x < 0.04:
            return "string", "delete", (self.key(kind),), {}
        k = self.key(kind)
        if kind == "list":
            return kind, *r.choice(
                [
                    ("lpush", (k, *self.many()), {}),
                    ("rpush", (k, *self.many()), {}),
                    ("lpush", (k, *self.many()), {}),
                    ("rpush", (k, *self.many()), {}),
                    ("lpop", (k,), {}),
                    ("rpop", (k,), {}),
                    ("lpop", (k, r.choice([0, 1, 3, 100, -1])), {}),
                    ("rpop", (k, r.choice([0, 2, 50])), {}),
                    ("lrange", (k, self.index(), self.index()), {}),
                    ("llen", (k,), {}),
                    ("lindex", (k, self.index()), {}),
                    ("lset", (k, self.index(), self.elem()), {}),
                    ("lrem", (k, r.choice([0, 1, 2, -1, -3]), self.elem()), {}),
                    ("ltrim", (k, self.index(), self.index()), {}),
                ]
            )
        if kind == "set":
            return kind, *r.choice(
                [
                    ("sadd", (k, *self.many()), {}),
                    ("sadd", (k, *self.many()), {}),
                    ("srem", (k, *self.many()), {}),
                    ("sismember", (k, self.elem()), {}),
                    ("smembers", (k,), {}),
                    ("scard", (k,), {}),
                    ("spop", (k,), {}),
                    ("spop", (k, r.choice([0, 1, 3, 30, -1])), {}),
                    ("srandmember", (k,), {}),
                    ("srandmember", (k, r.choice([0, 2, 5, -5, 100])), {}),
                    ("sinter", ([self.key(kind) for _ in range(r.randrange(1, 4))],), {}),
                    ("sunion", (self.key(kind), self.key(kind)), {}),
                    ("sdiff", ([self.key(kind) for _ in range(r.randrange(1, 4))],), {}),
                ]
            )
        if kind == "hash":
            pairs = {self.elem(): self.elem() for _ in range(r.choice([1, 2, 5, 60]))}
            return kind, *r.choice(
                [
                    ("hset", (k, self.elem(), self.elem()), {}),
                    ("hset", (k,), {"mapping": pairs}),
                    ("hset", (k,), {"items": [x for p in pairs.items() for x in p]}),
                    ("hsetnx", (k, self.elem(), self.elem()), {}),
                    ("hget", (k, self.elem()), {}),
                    ("hdel", (k, *self.many()), {}),
                    ("hexists", (k, self.elem()), {}),
                    ("hkeys", (k,), {}),
                    ("hvals", (k,), {}),
                    ("hlen", (k,), {}),
                    ("hgetall", (k,), {}),
                    ("hincrby", (k, self.elem(), r.choice([1, -1, 10, 2**62, -(2**62), 2**63 - 1])), {}),
                ]
            )
        flags = {f: True for f in ("nx", "xx", "gt", "lt", "ch") if r.random() < 0.15}
        start_num = r.choice([(), (), (0, 2), (1, -1), (-1, 3), (2, 0), (0, 100)])
        return kind, *r.choice(
            [
                ("zadd", (k, {self.elem(): self.score() for _ in range(r.choice([1, 2, 3, 50]))}), flags),
                ("zadd", (k, {self.elem(): self.score() for _ in range(r.choice([1, 3, 50, 100]))}), {}),
                ("zadd", (k, {self.elem(): self.score()}), {"incr": True, **flags}),
                ("zrem", (k, *self.many()), {}),
                ("zscore", (k, self.elem()), {}),
                ("zincrby", (k, self.score(), self.elem()), {}),
                ("zcard", (k,), {}),
                ("zrank", (k, self.elem()), {}),
                ("zrange", (k, self.index(), self.index()), {"desc": r.random() < 0.5, "withscores": r.random() < 0.5}),
                ("zrangebyscore", (k, self.bound(), self.bound(), *start_num), {"withscores": r.random() < 0.5}),
                ("zcount", (k, self.bound(), self.bound()), {}),
                ("zpopmin", (k, *r.choice([(), (0,), (2,), (20,)])), {}),
                ("zpopmax", (k, *r.choice([(), (1,), (3,)])), {}),
            ]
        )


def _compare_random(method, args, mine, client):
    """SPOP and SRANDMEMBER pick at random: their replies are checked
    against Redis's state (and SPOP's picks removed there too)."""
    status, value = mine
    key = args[0]
    if status == "error":
        assert _call(client, method, args, {}) == mine
        return
    if method == "srandmember":
        members = client.smembers(key) if client.type(key) == b"set" else set()
        if len(args) == 1:
            assert (value is None) == (not members) and (value is None or value in members)
        else:
            count = args[1]
            assert set(value) <= members
            if count >= 0:
                assert len(value) == min(count, len(members)) and len(set(value)) == len(value)
            else:
                assert len(value) == (-count if members else 0)
        return
    # spop: remove the same members from Redis, which must have held them all.
    popped = [] if value is None else [value] if len(args) == 1 else list(value)
    if popped:
        assert client.srem(key, *popped) == len(popped)
    else:
        assert client.scard(key) == 0 or args[1:] == (0,)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_differential_against_redis(redis_client, seed):
    client = redis_client
    client.flushall()
    gen = _Gen(seed)
    compared = 0
    errors_seen = set()
    with nycache.Cache(max_memory="64MiB", hash_seed=seed) as cache:
        for step in range(1500):
            kind, method, args, kwargs = gen.command()
            mine = _call(cache, method, args, kwargs)
            if method in ("spop", "srandmember"):
                _compare_random(method, args, mine, client)
                continue
            theirs = _call(client, method, args, kwargs)
            if method == "delete":  # redis-py's delete is Redis's DEL: a count
                theirs = ("ok", bool(theirs[1])) if theirs[0] == "ok" else theirs
            elif method == "set":  # Cache.set returns None, redis-py's True
                mine = ("ok", True) if mine == ("ok", None) else mine
            if method in ("hkeys", "hvals") and mine[0] == theirs[0] == "ok":
                mine, theirs = ("ok", sorted(mine[1])), ("ok", sorted(theirs[1]))
            if mine[0] == "error":
                errors_seen.add(mine[1])
            assert mine == theirs, (
                f"seed {seed} step {step}: {method}{args} {kwargs}: nycache {mine!r} redis {theirs!r}"
            )
            compared += 1
        # The final state of every key agrees too.
        for key in [k for ks in _Gen.KEYS.values() for k in ks] + _Gen.SHARED:
            kind = client.type(key).decode()
            if kind == "list":
                assert cache.lrange(key, 0, -1) == client.lrange(key, 0, -1)
            elif kind == "set":
                assert cache.smembers(key) == client.smembers(key)
            elif kind == "hash":
                assert cache.hgetall(key) == client.hgetall(key)
            elif kind == "zset":
                assert cache.zrange(key, 0, -1, withscores=True) == client.zrange(key, 0, -1, withscores=True)
            elif kind == "none":
                assert not cache.exists(key)
    assert compared > 1300
    assert {"wrongtype", "invalid"} <= errors_seen
