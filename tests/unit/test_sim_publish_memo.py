"""The simulator shares an opened publish only among minions holding the key that opens it."""

from __future__ import annotations

import pytest

from edge_minion.protocol import crypto_openssl
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.errors import AuthenticationFailed
from edge_minion.protocol.master_session import MasterProtocol
from edge_minion.protocol.minion_session import MinionSession
from tools.sim.fleet import PublishMemo


@pytest.fixture(scope="module")
def pems() -> tuple[bytes, bytes]:
    return crypto_openssl.private_pem(crypto_openssl.generate_private_key(1024)), crypto_openssl.private_pem(
        crypto_openssl.generate_private_key(1024))


def _session(pem: bytes, aes_key: str) -> MinionSession:
    session = MinionSession("sim-00000", pem, crypto_openssl)  # as tools/sim builds them
    session.aes = Crypticle(aes_key, crypto_openssl)
    session.session = Crypticle(generate_key_string(), crypto_openssl)
    return session


def test_a_minion_with_an_old_key_does_not_borrow_what_a_re_signed_one_opened(
        pems: tuple[bytes, bytes]) -> None:
    master_pem, minion_pem = pems
    master = MasterProtocol(master_pem, crypto_openssl)
    frame = [master.publish({"fun": "test.ping", "tgt": "*", "tgt_type": "glob", "jid": "1", "arg": []})]
    memo = PublishMemo()
    re_signed = _session(minion_pem, master.aes.key_string)
    stale = _session(minion_pem, generate_key_string())  # still holds the key of the master before its restart
    assert memo.open(re_signed, frame)["fun"] == "test.ping"
    with pytest.raises(AuthenticationFailed):
        memo.open(stale, frame)
    neighbour = _session(minion_pem, master.aes.key_string)
    assert memo.open(neighbour, frame) is memo.open(re_signed, frame)  # opened once per key
