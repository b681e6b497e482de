"""Minion and master protocol sessions talking over an in-memory wire."""

from __future__ import annotations

import random

import pytest

from edge_minion.protocol import crypto_dome, crypto_openssl, payload, rsa
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.crypto import CryptoBackend
from edge_minion.protocol.errors import (
    AuthenticationFailed,
    MalformedMessage,
    MessageTooLarge,
    RemoteProtocolError,
    ReplayedMessage,
    UnsupportedVersion,
)
from edge_minion.protocol.master_session import BAD_LOAD_FRAME, MasterProtocol
from edge_minion.protocol.messages import (
    AesEnvelope,
    AuthAccepted,
    AuthFull,
    AuthPending,
    AuthRejected,
    AuthRequest,
)
from edge_minion.protocol.minion_session import BadLoad, MasterKeyChanged, MinionSession

_KEYS = [crypto_openssl.private_pem(crypto_openssl.generate_private_key()) for _ in range(3)]
BACKENDS: dict[str, CryptoBackend] = {"openssl": crypto_openssl, "dome": crypto_dome}


# Production pairs a cryptography master with a pycryptodomex minion; every pairing must
# produce the same bytes, so each test runs with each backend on each side.
@pytest.fixture(params=["openssl", "dome"])
def master_crypto(request: pytest.FixtureRequest) -> CryptoBackend:
    return BACKENDS[request.param]


@pytest.fixture(params=["dome", "openssl"])
def minion_crypto(request: pytest.FixtureRequest) -> CryptoBackend:
    return BACKENDS[request.param]


def entropy(seed: int):  # noqa: ANN201 - test helper
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


@pytest.fixture
def master(master_crypto: CryptoBackend) -> MasterProtocol:
    return MasterProtocol(_KEYS[0], master_crypto, entropy=entropy(1))


@pytest.fixture
def minion(minion_crypto: CryptoBackend) -> MinionSession:
    return MinionSession("car-0001", _KEYS[1], minion_crypto, entropy=entropy(2))


def do_auth(master: MasterProtocol, minion: MinionSession, decision: str = "accept",
            session_key: str | None = None):  # noqa: ANN201
    req = master.parse_request(minion.auth_request())
    assert isinstance(req, AuthRequest)
    return minion.handle_auth_reply(master.auth_reply(req, decision, session_key or generate_key_string()))  # type: ignore[arg-type]


def test_accepted_minion_learns_master_key_and_both_keys(master: MasterProtocol, minion: MinionSession) -> None:
    outcome = do_auth(master, minion)
    assert isinstance(outcome, AuthAccepted)
    assert outcome.first_contact and outcome.master_pub == master.pub
    assert minion.aes is not None and minion.aes.key_string == master.aes.key_string
    # Second contact sends the token, which the master echoes.
    req = master.parse_request(minion.auth_request())
    assert isinstance(req, AuthRequest) and req.token is not None
    again = minion.handle_auth_reply(master.auth_reply(req, "accept", generate_key_string()))
    assert isinstance(again, AuthAccepted) and not again.first_contact


@pytest.mark.parametrize(
    ("decision", "kind"), [("pending", AuthPending), ("reject", AuthRejected), ("full", AuthFull)]
)
def test_refusals(master: MasterProtocol, minion: MinionSession, decision: str, kind: type) -> None:
    assert isinstance(do_auth(master, minion, decision), kind)
    assert not minion.authenticated


def test_pinned_master_key_refuses_an_impostor(minion: MinionSession, master_crypto: CryptoBackend) -> None:
    real = MasterProtocol(_KEYS[0], master_crypto)
    do_auth(real, minion)
    impostor = MasterProtocol(_KEYS[2], master_crypto)
    with pytest.raises(MasterKeyChanged):
        do_auth(impostor, minion)


def test_master_finger_pins_up_front(master: MasterProtocol, minion_crypto: CryptoBackend) -> None:
    other = minion_crypto.public_pem(minion_crypto.load_private(_KEYS[2]))
    wrong = MinionSession("m", _KEYS[1], minion_crypto, master_finger=rsa.fingerprint(other))
    with pytest.raises(MasterKeyChanged):
        do_auth(master, wrong)
    right = MinionSession("m", _KEYS[1], minion_crypto, master_finger=rsa.fingerprint(master.pub))
    assert isinstance(do_auth(master, right), AuthAccepted)


def test_request_round_trip_with_session_key(master: MasterProtocol, minion: MinionSession) -> None:
    session_key = generate_key_string()
    do_auth(master, minion, session_key=session_key)
    frame, nonce = minion.request({"cmd": "_return", "jid": "1", "return": True}, now=1_700_000_000)
    env = master.parse_request(frame)
    assert isinstance(env, AesEnvelope)
    req = master.open_request(env, session_key, minion.pub)
    assert req.cmd == "_return" and req.load["return"] is True and req.ts == 1_700_000_000
    assert "tok" not in req.load and "nonce" not in req.load
    assert minion.handle_reply(master.aes_reply(req, {"ok": 1}, session_key), nonce) == {"ok": 1}


def test_reply_bound_to_its_nonce(master: MasterProtocol, minion: MinionSession) -> None:
    key = generate_key_string()
    do_auth(master, minion, session_key=key)
    frame, _ = minion.request({"cmd": "_return"}, now=0)
    _, other_nonce = minion.request({"cmd": "_return"}, now=0)
    req = master.open_request(master.parse_request(frame), key, minion.pub)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationFailed):
        minion.handle_reply(master.aes_reply(req, None, key), other_nonce)


def test_token_from_another_key_is_refused(master: MasterProtocol, minion: MinionSession,
                                           master_crypto: CryptoBackend) -> None:
    key = generate_key_string()
    do_auth(master, minion, session_key=key)
    frame, _ = minion.request({"cmd": "_return"}, now=0)
    env = master.parse_request(frame)
    other_pub = master_crypto.public_pem(master_crypto.load_private(_KEYS[2]))
    with pytest.raises(AuthenticationFailed):
        master.open_request(env, key, other_pub)  # type: ignore[arg-type]


def test_bad_load_reply_is_reported(master: MasterProtocol, minion: MinionSession) -> None:
    do_auth(master, minion)
    _, nonce = minion.request({"cmd": "_return"}, now=0)
    with pytest.raises(BadLoad):
        minion.handle_reply(BAD_LOAD_FRAME, nonce)


def test_publish_round_trip_and_replay_guard(master: MasterProtocol, minion: MinionSession) -> None:
    do_auth(master, minion)
    frame = master.publish({"fun": "test.ping", "arg": [], "tgt": "*", "tgt_type": "glob", "jid": "1"})
    assert minion.handle_publish([frame])["fun"] == "test.ping"
    with pytest.raises(ReplayedMessage):
        minion.handle_publish([frame])


def test_rotation_makes_old_key_useless(master: MasterProtocol, minion: MinionSession) -> None:
    do_auth(master, minion)
    master.rotate_aes()
    with pytest.raises(AuthenticationFailed):
        minion.handle_publish([master.publish({"fun": "test.ping"})])
    do_auth(master, minion)
    assert minion.handle_publish([master.publish({"fun": "test.ping"})])["fun"] == "test.ping"


def test_tampered_publish_fails_hmac(master: MasterProtocol, minion: MinionSession) -> None:
    do_auth(master, minion)
    msg = payload.loads(master.publish({"fun": "x"}))
    blob = bytearray(msg["load"])
    blob[20] ^= 1
    msg["load"] = bytes(blob)
    msg.pop("sig")
    with pytest.raises(AuthenticationFailed):
        minion.handle_publish([payload.dumps(msg)])


@pytest.mark.parametrize(
    ("frame", "error"),
    [
        (b"\xc1garbage", MalformedMessage),
        (payload.dumps("hello"), MalformedMessage),
        (payload.dumps({"enc": "clear", "version": 2, "load": {"cmd": "_auth"}}), UnsupportedVersion),
        (payload.dumps({"enc": "clear", "version": 3, "load": {"cmd": "publish", "fun": "cmd.run"}}),
         MalformedMessage),
        (payload.dumps({"enc": "clear", "version": 3, "load": {"cmd": "_auth", "id": "../x", "pub": "k",
                                                                 "nonce": "n"}}), MalformedMessage),
        (payload.dumps({"enc": "rot13", "version": 3}), MalformedMessage),
        (payload.dumps({"enc": "aes", "version": 3, "id": "a", "load": 17}), MalformedMessage),
        (payload.dumps({"enc": "clear", "version": 3, "load": {"cmd": "_auth", "id": "a", "pub": "nokey",
                                                                 "nonce": "n"}}), MalformedMessage),
    ],
)
def test_master_rejects_bad_frames(master: MasterProtocol, frame: bytes, error: type) -> None:
    with pytest.raises(error):
        master.parse_request(frame)


def test_oversized_frame() -> None:
    small = MasterProtocol(_KEYS[0], crypto_openssl, max_message_size=1000)
    with pytest.raises(MessageTooLarge):
        small.parse_request(payload.dumps({"enc": "aes", "version": 3, "id": "a", "load": b"x" * 2000}))


@pytest.mark.parametrize("crypto", BACKENDS.values(), ids=BACKENDS.keys())
def test_x931_matches_known_shape(crypto: CryptoBackend) -> None:
    key = crypto.load_private(_KEYS[0])
    tok = rsa.x931_encrypt(crypto.private_numbers(key), b"salt")
    pub = crypto.load_public(crypto.public_pem(key))
    assert len(tok) == 256 and rsa.x931_decrypt(crypto.public_numbers(pub), tok) == b"salt"
    # Deterministic: Salt computes tok once.
    assert rsa.x931_encrypt(crypto.private_numbers(key), b"salt") == tok
    other = crypto.load_public(crypto.public_pem(crypto.load_private(_KEYS[1])))
    with pytest.raises(AuthenticationFailed):
        rsa.x931_decrypt(crypto.public_numbers(other), tok)


def test_payload_dialect() -> None:
    data = payload.dumps({"s": "text", "b": b"\xff\x00", "u": "é".encode(), "set": {1}})
    assert payload.loads(data) == {"s": "text", "b": b"\xff\x00", "u": "é", "set": [1]}


@pytest.mark.parametrize("crypto", BACKENDS.values(), ids=BACKENDS.keys())
def test_crypticle_rejects_garbage(crypto: CryptoBackend) -> None:
    c = Crypticle(generate_key_string(), crypto)
    for junk in (b"", b"x" * 63, b"x" * 80):
        with pytest.raises(RemoteProtocolError):
            c.loads(junk)
