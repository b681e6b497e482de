"""Returns reach the subscribed CLIs in batches, and the CLI's client hands them out one by one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq

from cloud_master.control import ControlClient, control_url
from cloud_master.subscriptions import BATCH_BYTES, Subscriptions


@pytest.fixture
def wired(tmp_path: Path) -> Iterator[tuple[Subscriptions, ControlClient, bytes, list[list[bytes]]]]:
    """A real control ROUTER and a real CLI client; ``sent`` records every message the master sends."""
    zctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
    router = zctx.socket(zmq.ROUTER)
    router.setsockopt(zmq.LINGER, 0)
    router.bind(control_url(tmp_path))
    client = ControlClient(tmp_path)
    client.send({"cmd": "hello"})
    ident, _ = router.recv_multipart()
    sent: list[list[bytes]] = []

    def send(frames: list[bytes]) -> None:
        sent.append(frames)
        router.send_multipart(frames)

    subs = Subscriptions()
    subs.attach(send)
    yield subs, client, ident, sent
    client.close()
    router.close(linger=0)
    zctx.term()


def _ret(jid: str, mid: str, value: object = True) -> tuple[str, dict[str, object]]:
    return jid, {"event": "return", "jid": jid, "id": mid, "load": {"return": value}}


def test_a_burst_is_one_message_and_arrives_event_by_event_in_order(wired) -> None:  # type: ignore[no-untyped-def]
    subs, client, ident, sent = wired
    subs.add("j1", ident)
    subs.deliver_many([_ret("j1", f"car-{i:04d}") for i in range(500)])
    assert len(sent) == 1
    got = [client.recv(2) for _ in range(500)]
    assert [m["id"] for m in got if m] == [f"car-{i:04d}" for i in range(500)]
    assert client.recv(0.05) is None


def test_only_subscribers_of_the_jid_get_its_returns(wired) -> None:  # type: ignore[no-untyped-def]
    subs, client, ident, sent = wired
    subs.add("mine", ident)
    subs.deliver_many([_ret("other", "a"), _ret("mine", "b"), _ret("other", "c")])
    msg = client.recv(2)
    assert msg is not None and msg["id"] == "b"
    assert client.recv(0.05) is None
    assert len(sent) == 1
    subs.deliver_many([_ret("other", "d")])
    assert len(sent) == 1  # nothing sent when nobody listens


def test_an_expired_subscription_is_dropped(wired) -> None:  # type: ignore[no-untyped-def]
    subs, client, ident, sent = wired
    subs.add("old", ident, now=-2 * 24 * 3600.0)  # expired long ago
    subs.deliver_soon(*_ret("old", "a"))
    assert sent == [] and client.recv(0.05) is None
    subs.deliver_soon(*_ret("old", "b"))
    assert sent == []


def test_big_returns_are_split_into_messages_of_about_batch_bytes(wired) -> None:  # type: ignore[no-untyped-def]
    subs, client, ident, sent = wired
    subs.add("big", ident)
    blob = "x" * (BATCH_BYTES // 3)
    subs.deliver_many([_ret("big", f"m{i}", blob) for i in range(7)])
    assert len(sent) == 3  # 3 + 3 + 1 events
    got = [client.recv(2) for _ in range(7)]
    assert [m["id"] for m in got if m] == [f"m{i}" for i in range(7)]
    assert all(m is not None and m["load"]["return"] == blob for m in got)
