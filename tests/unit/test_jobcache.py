"""JobCache on a real SQLite file: Salt-shaped queries, idempotent returns, failures, concurrency."""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud_master.errors import JobCacheError
from cloud_master.jobcache import JobCache

JID1, JID2, JID3 = "20240105101112123456", "20240105101113000000", "20240105101114000000"
T0 = 1_700_000_000.0


@pytest.fixture
def cache(tmp_path: Path) -> Iterator[JobCache]:
    with JobCache(tmp_path / "cache" / "jobs.sqlite") as jc:
        yield jc


def add(cache: JobCache, jid: str, fun: str = "test.ping", tgt: Any = "*",
        minions: tuple[str, ...] = ("a", "b"), now: float = T0, ttl: float = 60, tgt_type: str = "glob",
        arg: tuple[Any, ...] = ()) -> None:
    load = {"fun": fun, "arg": list(arg), "tgt": tgt, "tgt_type": tgt_type, "jid": jid, "user": "root"}
    cache.add_job(jid, load, list(minions), tgt, tgt_type, fun, list(arg), "root", ttl, now=now)


def ret(value: Any, success: bool = True) -> dict[str, Any]:
    return {"return": value, "retcode": 0 if success else 1, "success": success, "fun": "test.ping"}


def test_add_and_get_job(cache: JobCache) -> None:
    add(cache, JID1, fun="test.echo", arg=("hello",), minions=("pi-1",), ttl=30)
    job = cache.get_job(JID1)
    assert job is not None
    assert (job.jid, job.fun, job.arg, job.tgt, job.tgt_type, job.user) == (
        JID1, "test.echo", ["hello"], "*", "glob", "root")
    assert job.minions == ["pi-1"] and job.load["jid"] == JID1
    assert (job.created, job.expires) == (T0, T0 + 30)
    assert cache.get_job(JID2) is None


def test_the_same_jid_twice_is_an_error(cache: JobCache) -> None:
    add(cache, JID1)
    with pytest.raises(JobCacheError, match="exists already"):
        add(cache, JID1, fun="other")
    assert cache.get_job(JID1).fun == "test.ping"  # type: ignore[union-attr]


def test_first_return_wins_and_duplicates_are_counted(cache: JobCache) -> None:
    add(cache, JID1)
    assert cache.add_return(JID1, "a", ret(True)) is True
    assert cache.add_return(JID1, "a", ret(False, success=False)) is False
    assert cache.add_return(JID1, "a", ret("third")) is False
    assert cache.add_return(JID1, "b", ret(True)) is True
    assert cache.get_returns(JID1) == {"a": ret(True), "b": ret(True)}
    assert cache.duplicate_returns(JID1) == 2
    assert cache.duplicate_returns(JID2) == 0
    assert cache.duplicate_returns() == 2


def test_returns_for_unknown_jids_are_stored_and_listed(cache: JobCache) -> None:
    load = {"fun": "state.apply", "fun_args": ["web"], "return": {"ok": 1}, "user": "cron"}
    assert cache.add_return(JID2, "pi-9", load)
    assert cache.has_jid(JID2) and not cache.has_jid(JID3)
    assert cache.get_returns(JID2) == {"pi-9": load}
    assert cache.list_jobs() == {JID2: {"Function": "state.apply", "Arguments": ["web"], "Target": "pi-9",
                                        "Target-type": "glob", "User": "cron",
                                        "StartTime": "2024, Jan 05 10:11:13.000000"}}
    cache.add_return(JID2, "pi-8", load)
    assert cache.describe(JID2)["Target"] == ["pi-8", "pi-9"]  # type: ignore[index]


msgpackable = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers(-5, 5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(value=msgpackable)
def test_any_msgpack_value_round_trips_with_bytes_kept_apart(cache: JobCache, value: Any) -> None:
    jid = f"2024{abs(hash(repr(value))) % 10**16:016d}"
    cache.add_return(jid, "pi-1", {"return": value})
    assert cache.get_returns(jid)["pi-1"]["return"] == value
    assert cache.lookup_jid(jid) == {"pi-1": value}


def test_datetimes_sets_and_tuples(cache: JobCache) -> None:
    when = datetime(2024, 1, 5, 10, 11, 12, 345678)
    cache.add_return(JID1, "a", {"return": {"t": when, "s": {3}, "tu": (1, b"\x00\xff")}})
    assert cache.get_returns(JID1)["a"]["return"] == {"t": when, "s": [3], "tu": [1, b"\x00\xff"]}


def test_unstorable_values_raise_and_store_nothing(cache: JobCache) -> None:
    with pytest.raises(JobCacheError, match="cannot be stored") as info:
        cache.add_return(JID1, "a", {"return": object()})
    assert isinstance(info.value.__cause__, TypeError)
    assert cache.get_returns(JID1) == {}


def test_list_jobs_is_salt_shaped_oldest_first(cache: JobCache) -> None:
    add(cache, JID2, fun="cmd.run", arg=("uptime",), tgt=["pi-1", "pi-2"], tgt_type="list")
    add(cache, JID1)
    assert cache.list_jobs() == {
        JID1: {"Function": "test.ping", "Arguments": [], "Target": "*", "Target-type": "glob",
               "User": "root", "StartTime": "2024, Jan 05 10:11:12.123456"},
        JID2: {"Function": "cmd.run", "Arguments": ["uptime"], "Target": ["pi-1", "pi-2"],
               "Target-type": "list", "User": "root", "StartTime": "2024, Jan 05 10:11:13.000000"},
    }
    assert list(cache.list_jobs()) == [JID1, JID2]


def test_list_jobs_search_and_limit(cache: JobCache) -> None:
    add(cache, JID1, fun="test.ping", tgt="pi-*")
    add(cache, JID2, fun="cmd.run", tgt=["pi-1", "lab-2"], tgt_type="list")
    add(cache, JID3, fun="test.echo", tgt="lab-*")
    assert list(cache.list_jobs(search_fun="test.*")) == [JID1, JID3]
    assert list(cache.list_jobs(search_fun=["cmd.*", "test.ping"])) == [JID1, JID2]
    assert list(cache.list_jobs(search_target="lab-2")) == [JID2]  # any item of a list target
    assert list(cache.list_jobs(search_target="lab-*")) == [JID2, JID3]
    assert list(cache.list_jobs(search_target="pi-[*]")) == [JID1]  # a target that is itself a glob
    assert list(cache.list_jobs(limit=2)) == [JID2, JID3]  # the newest two
    assert list(cache.list_jobs(limit=1, search_fun="test.*")) == [JID3]
    assert cache.list_jobs(search_fun="nothing.*") == {}


def test_lookup_jid_like_salt(cache: JobCache) -> None:
    add(cache, JID1, minions=("a", "b", "c"))
    cache.add_return(JID1, "a", ret("pong"))
    cache.add_return(JID1, "b", {"retcode": 0})  # no "return" key
    assert cache.lookup_jid(JID1) == {"a": "pong", "b": None}
    assert cache.lookup_jid(JID1, missing=True) == {"a": "pong", "b": None, "c": "Minion did not return"}
    assert cache.lookup_jid(JID3) == {}


def test_per_minion_states(cache: JobCache) -> None:
    add(cache, JID1, minions=("a", "b", "c"))
    assert cache.job_status(JID1) == {m: {"state": "published", "since": T0} for m in "abc"}
    cache.set_minion_state(JID1, "b", "pending-offline", T0 + 1)
    cache.set_minion_state(JID1, "b", "delivered", T0 + 2)
    cache.set_minion_state(JID1, "c", "running", T0 + 3)
    cache.add_return(JID1, "c", ret(True), now=T0 + 4)
    assert cache.job_status(JID1) == {"a": {"state": "published", "since": T0},
                                      "b": {"state": "delivered", "since": T0 + 2},
                                      "c": {"state": "returned", "since": T0 + 4}}
    for state in ("failed", "interrupted", "expired"):
        cache.set_minion_state(JID1, "a", state, T0 + 5)
        assert cache.job_status(JID1)["a"]["state"] == state
    with pytest.raises(ValueError, match="unknown minion job state"):
        cache.set_minion_state(JID1, "a", "exploded", T0)


def test_prune_keeps_recent_and_still_deliverable_jobs(cache: JobCache) -> None:
    add(cache, JID1, now=T0, ttl=60)              # old, TTL over -> pruned
    add(cache, JID2, now=T0, ttl=10 * 86400)      # old, but still deliverable -> kept
    add(cache, JID3, now=T0 + 86000, ttl=60)      # recent -> kept
    cache.add_return(JID1, "a", ret(True), now=T0 + 1)
    cache.add_return("20230101000000000000", "z", ret(True), now=T0)         # stray and old
    cache.add_return("20240101000000000000", "z", ret(True), now=T0 + 86000)  # stray, recent
    now = T0 + 86400 + 100
    assert cache.prune(86400, now) == 2
    assert cache.get_job(JID1) is None and cache.get_returns(JID1) == {} and cache.job_status(JID1) == {}
    assert cache.get_job(JID2) is not None and cache.get_job(JID3) is not None
    assert list(cache.list_jobs()) == ["20240101000000000000", JID2, JID3]
    assert cache.prune(86400, now) == 0


def test_database_is_wal_with_normal_sync(cache: JobCache) -> None:
    conn = sqlite3.connect(cache.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    assert cache._conn().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_threads_share_one_cache(cache: JobCache) -> None:
    add(cache, JID1, minions=tuple(f"m{i}" for i in range(40)))
    errors: list[BaseException] = []

    def work(start: int) -> None:
        try:
            for i in range(start, start + 10):
                cache.add_return(JID1, f"m{i}", ret(i))
                cache.get_returns(JID1)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n * 10,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache.get_returns(JID1)) == 40


WRITER = textwrap.dedent("""
    import sys
    from cloud_master.jobcache import JobCache
    cache = JobCache(sys.argv[1])
    n = int(sys.argv[2])
    cache.add_job("20240105101112123456", {}, [f"m{i}" for i in range(n)], "*", "glob",
                  "test.ping", [], "root", 60)
    for i in range(n):
        cache.add_return("20240105101112123456", f"m{i}", {"return": "x" * 200, "i": i})
    print("done", flush=True)
""")


def test_a_writer_process_and_a_reader_process_work_at_once(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    reader = JobCache(path)  # create the schema first so both sides start from a valid file
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "1000"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen: list[int] = []
    while writer.poll() is None:
        seen.append(len(reader.get_returns("20240105101112123456")))
        reader.list_jobs()
    out, err = writer.communicate()
    assert writer.returncode == 0, err
    assert out.strip() == "done"
    assert any(0 < n < 1000 for n in seen)  # the reads really overlapped the writes
    assert seen == sorted(seen)  # readers see whole commits, never a step back
    assert len(reader.get_returns("20240105101112123456")) == 1000
    assert reader.job_status("20240105101112123456")["m999"]["state"] == "returned"
    reader.close()


def test_a_full_database_raises_and_keeps_what_was_stored(tmp_path: Path) -> None:
    cache = JobCache(tmp_path / "jobs.sqlite", max_size_bytes=64 * 1024)
    stored = 0
    with pytest.raises(JobCacheError) as info:
        for i in range(1000):
            cache.add_return(f"{i:020d}", "m", {"return": "x" * 4000})
            stored += 1
    assert "full" in str(info.value) and str(cache.path) in str(info.value)
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert cache.get_returns(f"{stored:020d}") == {}  # the failed one is not half-stored
    assert all(cache.get_returns(f"{i:020d}") for i in range(stored))
    assert 0 < stored < 1000
    cache.close()


def make_read_only(path: Path) -> None:
    if os.geteuid() == 0:  # root ignores file modes; the immutable flag binds root too
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("cannot make a read-only file here (chattr unavailable)")
    else:
        os.chmod(path, 0o444)


def test_a_read_only_database_gives_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    with JobCache(path) as cache:
        cache.add_return(JID1, "a", ret(True))
    make_read_only(path)
    try:
        with pytest.raises(JobCacheError) as info:
            with JobCache(path) as cache:
                assert cache.get_returns(JID1) == {"a": ret(True)}  # reading still works
                cache.add_return(JID1, "b", ret(True))
        assert "read-only" in str(info.value) and str(path) in str(info.value)
        assert isinstance(info.value.__cause__, sqlite3.Error)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    with JobCache(path) as cache:
        assert set(cache.get_returns(JID1)) == {"a"}


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(JobCacheError, match="newer"):
        JobCache(path)


def test_floats_keep_their_value(cache: JobCache) -> None:
    cache.add_return(JID1, "a", {"return": [math.pi, -0.0, float("inf")]})
    assert cache.lookup_jid(JID1)["a"] == [math.pi, -0.0, float("inf")]
