"""KeyStore: Salt's pki layout, the _auth decision table, rotation requests, fingerprints."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from cloud_master.errors import KeyNotFound, KeyStoreError
from cloud_master.keystore import (
    Decision,
    KeyStore,
    clean_key,
    fingerprint_pem,
    generate_keypair,
    valid_id,
    write_keypair,
)


@pytest.fixture(scope="module")
def pubs() -> tuple[str, str]:
    """Two different minion public keys, as a minion sends them (clean_key'd)."""
    return clean_key(generate_keypair()[1]), clean_key(generate_keypair()[1])


@pytest.fixture
def store(tmp_path: Path) -> KeyStore:
    return KeyStore(tmp_path / "pki", tmp_path / "cache")


def files(store: KeyStore, minion_id: str) -> dict[str, str]:
    """{state dir: content} of every file stored for minion_id."""
    found = {}
    for directory in ("minions", "minions_pre", "minions_rejected", "minions_denied"):
        path = store.pki_dir / directory / minion_id
        if path.exists():
            found[directory] = path.read_text()
    return found


def salt_pem_finger(path: Path) -> str:
    """Salt's salt.utils.crypt.pem_finger, restated from its documented behaviour."""
    with open(path, "rb") as handle:
        body = b"".join([x for x in handle.readlines() if x.strip()][1:-1])
    digest = hashlib.sha256(body).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2))


# -- master keys -------------------------------------------------------------------------


def test_master_keys_are_generated_in_salt_formats(store: KeyStore) -> None:
    private, public = store.ensure_master_keys()
    assert private.startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert public.startswith("-----BEGIN PUBLIC KEY-----")
    key = serialization.load_pem_private_key(private.encode(), password=None)
    assert key.key_size == 2048  # type: ignore[union-attr]
    derived = key.public_key().public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    assert clean_key(derived) == clean_key(public)
    assert stat.S_IMODE((store.pki_dir / "master.pem").stat().st_mode) == 0o400
    assert (store.pki_dir / "master.pub").read_text() == public


def test_master_keys_are_reused_and_a_missing_pub_is_derived(store: KeyStore) -> None:
    first = store.ensure_master_keys()
    (store.pki_dir / "master.pub").unlink()
    second = store.ensure_master_keys()
    assert second[0] == first[0]
    assert clean_key(second[1]) == clean_key(first[1])
    assert (store.pki_dir / "master.pub").exists()


def test_master_pub_not_matching_pem_is_an_error(store: KeyStore, pubs: tuple[str, str]) -> None:
    store.ensure_master_keys()
    (store.pki_dir / "master.pub").write_text(pubs[0])
    with pytest.raises(KeyStoreError, match="does not match"):
        store.ensure_master_keys()


def test_corrupt_master_pem_is_an_error(store: KeyStore) -> None:
    store.pki_dir.mkdir(parents=True)
    (store.pki_dir / "master.pem").write_text("not a key")
    with pytest.raises(KeyStoreError, match="master.pem") as info:
        store.ensure_master_keys()
    assert info.value.__cause__ is not None


# -- Salt's decision table (SALT-PROTOCOL.md §1.2), one row per case --------------------

A, B = "A", "B"  # which of the two keys: A is stored, B is another


@pytest.mark.parametrize(
    "stored_in, offered, auto_sign, auto_reject, expected, after",
    [
        # rejected -> reject whatever the flags, nothing moves
        ("minions_rejected", A, True, False, Decision.REJECT, {"minions_rejected": A}),
        ("minions_rejected", B, False, False, Decision.REJECT, {"minions_rejected": A}),
        # accepted, pub differs -> the offered pub goes to denied
        ("minions", B, False, False, Decision.DENIED, {"minions": A, "minions_denied": B}),
        ("minions", B, True, False, Decision.DENIED, {"minions": A, "minions_denied": B}),
        # accepted, same pub -> accept (even with auto_reject: the key is already known)
        ("minions", A, False, False, Decision.ACCEPT, {"minions": A}),
        ("minions", A, False, True, Decision.ACCEPT, {"minions": A}),
        # none + auto_reject -> stored rejected (auto_reject wins over auto_sign)
        (None, A, True, True, Decision.REJECT, {"minions_rejected": A}),
        # none, not auto_sign -> pending
        (None, A, False, False, Decision.PENDING, {"minions_pre": A}),
        # none + auto_sign -> accepted
        (None, A, True, False, Decision.ACCEPT, {"minions": A}),
        # pending + auto_reject -> the pending key moves to rejected, whatever is offered
        ("minions_pre", B, False, True, Decision.REJECT, {"minions_rejected": A}),
        ("minions_pre", A, True, True, Decision.REJECT, {"minions_rejected": A}),
        # pending, pub differs -> denied, pending kept
        ("minions_pre", B, False, False, Decision.DENIED, {"minions_pre": A, "minions_denied": B}),
        ("minions_pre", B, True, False, Decision.DENIED, {"minions_pre": A, "minions_denied": B}),
        # pending, same, not auto_sign -> still pending
        ("minions_pre", A, False, False, Decision.PENDING, {"minions_pre": A}),
        # pending, same, auto_sign -> accepted, pending removed
        ("minions_pre", A, True, False, Decision.ACCEPT, {"minions": A}),
    ],
)
def test_decision_table(store: KeyStore, pubs: tuple[str, str], stored_in: str | None, offered: str,
                        auto_sign: bool, auto_reject: bool, expected: Decision,
                        after: dict[str, str]) -> None:
    keys = {A: pubs[0], B: pubs[1]}
    if stored_in is not None:
        (store.pki_dir / stored_in).mkdir(parents=True)
        (store.pki_dir / stored_in / "m1").write_text(keys[A])
    decision = store.decide("m1", keys[offered], auto_sign=auto_sign, auto_reject=auto_reject)
    assert decision is expected
    assert files(store, "m1") == {d: keys[k] for d, k in after.items()}


def test_same_key_with_other_line_endings_is_the_same_key(store: KeyStore, pubs: tuple[str, str]) -> None:
    assert store.decide("m1", pubs[0], auto_sign=False, auto_reject=False) is Decision.PENDING
    variant = pubs[0].replace("\n", "\r\n") + "\r\n\n"
    assert store.decide("m1", variant, auto_sign=True, auto_reject=False) is Decision.ACCEPT
    assert store.get_pub("m1") == pubs[0]
    assert not (store.pki_dir / "minions" / "m1").read_text().endswith("\n")


@pytest.mark.parametrize("bad_id", ["a/b", "a\\b", "a\0b", "..", ".", "", ".hidden", "x" * 256])
def test_invalid_ids_are_rejected_and_nothing_is_written(store: KeyStore, pubs: tuple[str, str],
                                                         bad_id: str) -> None:
    assert store.decide(bad_id, pubs[0], auto_sign=True, auto_reject=False) is Decision.REJECT
    written = [p for p in store.pki_dir.parent.rglob("*") if p.is_file()] if store.pki_dir.exists() else []
    assert written == []
    assert store.state(bad_id) is None
    with pytest.raises(KeyStoreError, match="invalid minion id"):
        store.accept(bad_id)


def test_valid_id_refuses_escaping_the_pki_dir(tmp_path: Path) -> None:
    assert valid_id(tmp_path, "pi-001.example")
    assert not valid_id(tmp_path, "..")
    assert not valid_id(tmp_path, "../etc")
    assert not valid_id(tmp_path, 42)


def test_a_pub_that_is_not_an_rsa_pem_is_rejected_unstored(store: KeyStore) -> None:
    assert store.decide("m1", "hello", auto_sign=True, auto_reject=False) is Decision.REJECT
    assert store.state("m1") is None


def test_decision_reply_values() -> None:
    assert [(d.result, d.act) for d in Decision] == [
        (True, "accept"), (True, "pend"), (False, "reject"), (False, "denied")]


def test_concurrent_first_contacts_store_one_key(store: KeyStore, pubs: tuple[str, str]) -> None:
    results: list[Decision] = []
    threads = [threading.Thread(target=lambda: results.append(
        store.decide("m1", pubs[0], auto_sign=True, auto_reject=False))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [Decision.ACCEPT] * 8
    assert files(store, "m1") == {"minions": pubs[0]}


# -- listing and state changes ------------------------------------------------------------


def populate(store: KeyStore, pubs: tuple[str, str]) -> None:
    store.decide("acc", pubs[0], auto_sign=True, auto_reject=False)
    store.decide("acc", pubs[1], auto_sign=False, auto_reject=False)  # -> denied copy
    store.decide("pend1", pubs[0], auto_sign=False, auto_reject=False)
    store.decide("pend2", pubs[1], auto_sign=False, auto_reject=False)
    store.decide("rej", pubs[0], auto_sign=False, auto_reject=True)


def test_list_has_salts_shape_and_skips_hidden_files(store: KeyStore, pubs: tuple[str, str]) -> None:
    assert store.list() == {"minions": [], "minions_pre": [], "minions_rejected": [], "minions_denied": []}
    populate(store, pubs)
    (store.pki_dir / "minions_pre" / ".tmp-leftover").write_text("x")
    assert store.list() == {"minions": ["acc"], "minions_pre": ["pend1", "pend2"],
                            "minions_rejected": ["rej"], "minions_denied": ["acc"]}
    assert store.match("pend*")["minions_pre"] == ["pend1", "pend2"]
    assert [store.state(i) for i in ("acc", "pend1", "rej", "nobody")] == [
        "accepted", "pending", "rejected", None]


def test_rejected_wins_when_an_id_is_in_several_states(store: KeyStore, pubs: tuple[str, str]) -> None:
    populate(store, pubs)
    (store.pki_dir / "minions_rejected" / "acc").write_text(pubs[0])
    assert store.state("acc") == "rejected"
    assert store.decide("acc", pubs[0], auto_sign=True, auto_reject=False) is Decision.REJECT


def test_accept_reject_delete_move_files(store: KeyStore, pubs: tuple[str, str]) -> None:
    populate(store, pubs)
    store.accept("pend1")
    assert store.state("pend1") == "accepted" and store.get_pub("pend1") == pubs[0]
    store.reject("pend2")
    assert store.state("pend2") == "rejected"
    store.accept("pend2", include_rejected=True)
    assert store.state("pend2") == "accepted"
    store.reject("pend2", include_accepted=True)
    assert store.state("pend2") == "rejected"
    store.delete("acc")
    assert files(store, "acc") == {}  # gone from accepted and denied


def test_operations_on_unknown_ids_raise_key_not_found(store: KeyStore, pubs: tuple[str, str]) -> None:
    populate(store, pubs)
    for call in (lambda: store.accept("nobody"), lambda: store.reject("nobody"),
                 lambda: store.delete("nobody"), lambda: store.get_pub("nobody"),
                 lambda: store.fingerprint("nobody"), lambda: store.accept("acc")):
        with pytest.raises(KeyNotFound) as info:
            call()
        assert isinstance(info.value, KeyError)
    with pytest.raises(KeyNotFound):
        store.reject("acc")  # accepted keys need include_accepted, as in Salt
    with pytest.raises(KeyStoreError, match="unknown key state"):
        store.get_pub("acc", "bogus")


def test_all_variants_return_the_ids_they_changed(store: KeyStore, pubs: tuple[str, str]) -> None:
    populate(store, pubs)
    assert store.accept_all() == ["pend1", "pend2"]
    assert store.list()["minions"] == ["acc", "pend1", "pend2"]
    assert store.reject_all() == []
    assert store.reject_all(include_accepted=True) == ["acc", "pend1", "pend2"]
    assert store.delete_all() == ["acc", "pend1", "pend2", "rej"]
    assert store.list() == {"minions": [], "minions_pre": [], "minions_rejected": [], "minions_denied": []}


def test_no_temporary_files_are_left_behind(store: KeyStore, pubs: tuple[str, str]) -> None:
    store.ensure_master_keys()
    populate(store, pubs)
    store.accept_all()
    store.delete("rej")
    assert [p for p in store.pki_dir.parent.rglob(".tmp-*")] == []


# -- rotation drop file -------------------------------------------------------------------


@pytest.mark.parametrize("change", [
    lambda s: s.reject("pend1"),
    lambda s: s.reject("acc", include_accepted=True),
    lambda s: s.reject_all(),
    lambda s: s.delete("pend1"),
    lambda s: s.delete_all(),
])
def test_removing_a_key_requests_aes_rotation(store: KeyStore, pubs: tuple[str, str],
                                              change: Callable[[KeyStore], object]) -> None:
    populate(store, pubs)
    assert not store.rotation_requested()
    change(store)
    dfn = store.cache_dir / ".dfn"
    assert store.rotation_requested() and dfn.is_file()
    assert stat.S_IMODE(dfn.stat().st_mode) == 0o400
    store.clear_rotation()
    assert not store.rotation_requested() and not dfn.exists()


def test_accepting_and_auth_decisions_do_not_request_rotation(store: KeyStore, pubs: tuple[str, str]) -> None:
    populate(store, pubs)  # includes a denied and an auto-rejected key
    store.accept_all()
    store.decide("pend1", pubs[1], auto_sign=True, auto_reject=False)
    assert not store.rotation_requested()


def test_default_cache_dir_is_the_state_dirs_cache(tmp_path: Path) -> None:
    assert KeyStore(tmp_path / "state" / "pki").cache_dir == tmp_path / "state" / "cache"


# -- fingerprints, preseeding, key files ------------------------------------------------


def test_fingerprint_matches_salts_pem_finger(store: KeyStore, pubs: tuple[str, str]) -> None:
    store.ensure_master_keys()
    populate(store, pubs)
    stored = store.pki_dir / "minions_pre" / "pend1"
    assert store.fingerprint("pend1") == salt_pem_finger(stored)
    master_pub = store.pki_dir / "master.pub"  # ends with a newline, unlike minion keys
    assert fingerprint_pem(master_pub.read_text()) == salt_pem_finger(master_pub)
    assert store.fingerprint("acc", "denied") == salt_pem_finger(store.pki_dir / "minions_denied" / "acc")
    assert store.fingerprint("acc") != store.fingerprint("acc", "denied")
    parts = store.fingerprint("pend1").split(":")
    assert len(parts) == 32 and all(len(p) == 2 and int(p, 16) >= 0 for p in parts)


def test_preseed_registers_an_accepted_key(store: KeyStore, pubs: tuple[str, str]) -> None:
    store.decide("m1", pubs[0], auto_sign=False, auto_reject=False)
    store.preseed("m1", pubs[1] + "\n")
    assert files(store, "m1") == {"minions": pubs[1]}
    assert not store.rotation_requested()
    store.preseed("m1", pubs[0])  # replacing an accepted key cuts the old one off
    assert store.rotation_requested()
    assert store.decide("m1", pubs[0], auto_sign=False, auto_reject=False) is Decision.ACCEPT
    with pytest.raises(KeyStoreError, match="not a PEM public key"):
        store.preseed("m2", "garbage")


def test_write_keypair_writes_pem_and_pub_and_refuses_to_overwrite(tmp_path: Path) -> None:
    pem, pub = write_keypair(tmp_path / "out", "edge1")
    assert pem.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert pub.read_text().startswith("-----BEGIN PUBLIC KEY-----")
    assert stat.S_IMODE(os.stat(pem).st_mode) == 0o400
    with pytest.raises(KeyStoreError, match="already exists"):
        write_keypair(tmp_path / "out", "edge1")
