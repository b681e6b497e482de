"""Security baseline against a live master: only an explicit command list, bad input is counted, never fatal."""

from __future__ import annotations

import time

import zmq

from edge_minion.protocol import crypto_dome, payload
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.messages import AuthPending
from edge_minion.protocol.minion_session import MinionSession
from tests.fleet_harness import Master


def _req(master: Master, frame: bytes, timeout_ms: int = 5000) -> bytes | None:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{master.ret_port}")
    try:
        sock.send(frame)
        if not sock.poll(timeout_ms):
            return None
        return sock.recv()
    finally:
        sock.close()


def _counters(master: Master) -> dict[str, int]:
    from cloud_master.control import ControlClient

    client = ControlClient(master.state_dir / "sock")
    try:
        return dict(client.call({"cmd": "ping"})["counters"])
    finally:
        client.close()


def test_unaccepted_client_gets_no_key_and_cannot_publish_or_read(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("good-1")
    master.wait_connected(1)
    intruder = MinionSession("intruder", crypto_dome.private_pem(crypto_dome.generate_private_key()), crypto_dome)
    reply = _req(master, intruder.auth_request())
    assert reply is not None
    assert isinstance(intruder.handle_auth_reply(reply), AuthPending)
    assert intruder.aes is None, "a pending key must not receive the AES key"
    # Salt's CVE-2020-11651 lesson: a clear request other than _auth is refused, whatever it asks.
    for cmd in ("publish", "_prep_auth_info", "_send_pub", "get_token", "mk_token", "runner", "wheel"):
        frame = payload.dumps({"enc": "clear", "version": 3,
                               "load": {"cmd": cmd, "fun": "cmd.run", "arg": ["touch /tmp/pwned"], "tgt": "*"}})
        assert payload.loads(_req(master, frame) or b"\xc0") == "bad load", cmd
    # An encrypted request with a made-up session key (e.g. asking for returns) is refused.
    forged = Crypticle(generate_key_string(), crypto_dome).dumps(
        {"cmd": "_return", "id": "good-1", "jid": "1", "return": 1})
    frame = payload.dumps({"enc": "aes", "version": 3, "id": "good-1", "load": forged})
    assert payload.loads(_req(master, frame) or b"\xc0") == "bad load"
    # The real minion is unaffected, and nothing was published.
    data, _ = master.fleet_json("*", "test.ping")
    assert data == {"good-1": True}
    listing = master.cli("fleet-run", "jobs.list_jobs", "--out", "json").stdout
    assert "cmd.run" not in listing


def test_malformed_input_is_counted_and_never_fatal(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    make_minion("good-2")
    master.wait_connected(1)
    bad_frames = [
        b"\xc1\xc1 not msgpack",
        payload.dumps({"enc": "clear", "version": 2, "load": {"cmd": "_auth"}}),   # old protocol
        payload.dumps({"enc": "aes", "version": 3, "id": "good-2", "load": b"x" * 64}),  # bad HMAC (UTF-8 text)
        payload.dumps({"enc": "aes", "version": 3, "id": "good-2", "load": bytes(range(128, 256))}),  # bad HMAC
        payload.dumps(["not", "a", "mapping"]),
    ]
    for frame in bad_frames:
        assert payload.loads(_req(master, frame) or b"\xc0") == "bad load"
    # Oversized: the socket refuses it (MAXMSGSIZE) and drops that connection; the master lives on.
    assert _req(master, b"\x00" * (11 * 1024 * 1024), timeout_ms=2000) is None
    # Raw multipart garbage straight at the ROUTER (no REQ envelope).
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{master.ret_port}")
    sock.send_multipart([b"junk", b"more junk"])
    time.sleep(0.3)
    sock.close()
    counters = _counters(master)
    assert counters.get("malformed", 0) >= 2 and counters.get("version", 0) >= 1 and counters.get("auth", 0) >= 1
    assert counters.get("malformed-envelope", 0) >= 1
    assert master.running
    data, _ = master.fleet_json("*", "test.ping")
    assert data == {"good-2": True}
    assert "refused a request" in master.log_text()
