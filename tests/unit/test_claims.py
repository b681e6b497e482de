"""Claim tokens: the store's decisions, and the master's admission of a key with a token."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest

from cloud_master.claims import ClaimError, ClaimReason, ClaimStore, parse_duration, parse_grains
from cloud_master.enrollment import ClaimEnrollment
from cloud_master.jobcache import JobCache
from cloud_master.keystore import KeyStore, clean_key, generate_keypair

T0 = 1_700_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> ClaimStore:
    return ClaimStore.for_cache_dir(tmp_path / "cache")


def test_token_is_shown_once_and_stored_hashed(store: ClaimStore) -> None:
    secret, token = store.create(max_uses=3, grains={"site": "berlin"}, now=T0)
    assert secret.startswith("efc_") and len(secret) > 30
    assert secret.encode() not in store.path.read_bytes()
    [listed] = store.list()
    assert listed.id == token.id and listed.max_uses == 3 and listed.uses == 0
    assert listed.expires == T0 + 7 * 86400 and dict(listed.grains) == {"site": "berlin"}
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_accepts_until_used_up_and_records_claims(store: ClaimStore) -> None:
    secret, _ = store.create(max_uses=2, grains={"role": "sensor"}, now=T0)
    first = store.check_and_consume("pi-1", secret, "10000000aa", now=T0 + 1)
    assert first.accepted and dict(first.grains) == {"role": "sensor"}
    assert store.check_and_consume("pi-2", f"  {secret}\n", None, now=T0 + 2).accepted
    refused = store.check_and_consume("pi-3", secret, None, now=T0 + 3)
    assert refused.reason is ClaimReason.USED_UP and not refused.grains
    [listed] = store.list()
    assert listed.uses == 2 and listed.claimed_by == ("pi-1", "pi-2")


def test_expired_unknown_and_revoked(store: ClaimStore) -> None:
    secret, token = store.create(expires_in=60, now=T0)
    assert store.check_and_consume("pi-1", secret, None, now=T0 + 60).reason is ClaimReason.EXPIRED
    assert store.check_and_consume("pi-1", "efc_nope", None, now=T0).reason is ClaimReason.UNKNOWN
    assert store.revoke(token.id[:6])
    assert store.check_and_consume("pi-1", secret, None, now=T0).reason is ClaimReason.REVOKED
    assert not store.revoke("abcdef")
    with pytest.raises(ClaimError):
        store.revoke("'; drop")


def test_serial_pattern_is_a_case_insensitive_glob(store: ClaimStore) -> None:
    secret, _ = store.create(max_uses=5, serial_pattern="10000000AB*", now=T0)
    assert store.check_and_consume("pi-1", secret, None, now=T0).reason is ClaimReason.SERIAL_MISMATCH
    assert store.check_and_consume("pi-1", secret, "20000000ab01", now=T0).reason is ClaimReason.SERIAL_MISMATCH
    assert store.check_and_consume("pi-1", secret, "10000000ab01", now=T0).accepted
    assert store.list()[0].uses == 1  # refusals spend nothing


def test_two_stores_never_count_past_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "claims.sqlite"
    secret, _ = ClaimStore(path).create(max_uses=5, now=T0)
    results: list[bool] = []

    def claim(n: int) -> None:
        store = ClaimStore(path)
        for i in range(5):
            results.append(store.check_and_consume(f"pi-{n}-{i}", secret, None, now=T0).accepted)

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 5 and len(results) == 20


def test_invalid_arguments(store: ClaimStore) -> None:
    with pytest.raises(ClaimError):
        store.create(max_uses=0)
    assert parse_duration("7d") == 7 * 86400 and parse_duration("90") == 90 and parse_duration("never") is None
    assert parse_duration("2w") == 14 * 86400 and parse_duration("12h") == 43200
    for bad in ("0d", "7y", "-1h", "soon"):
        with pytest.raises(ClaimError):
            parse_duration(bad)
    assert parse_grains(["site=berlin", "note=a=b", "empty="]) == {"site": "berlin", "note": "a=b", "empty": ""}
    with pytest.raises(ClaimError):
        parse_grains(["novalue"])


@pytest.fixture(scope="module")
def pubs() -> tuple[str, str]:
    return clean_key(generate_keypair()[1]), clean_key(generate_keypair()[1])


class TestEnrollment:
    @pytest.fixture
    def parts(self, tmp_path: Path) -> tuple[ClaimEnrollment, KeyStore, JobCache, ClaimStore]:
        keys = KeyStore(tmp_path / "pki", tmp_path / "cache")
        jobs = JobCache(tmp_path / "cache" / "jobs.sqlite")
        claims = ClaimStore.for_cache_dir(tmp_path / "cache")
        jids = iter(f"2024010100000000000{i}" for i in range(10))
        return ClaimEnrollment(claims, keys, jobs, lambda: next(jids), 3600, lambda: T0), keys, jobs, claims

    def test_new_key_with_token_is_admitted_and_token_grains_held(self, parts, pubs) -> None:  # type: ignore[no-untyped-def]
        enrol, keys, jobs, claims = parts
        secret, _ = claims.create(grains={"site": "berlin", "role": "gw"}, now=T0)
        assert enrol.admit("pi-1", pubs[0], {"edgefleet_claim_token": secret, "serialnumber": "10000000aa"})
        held = jobs.pending_for("pi-1", T0)
        assert [(j["fun"], j["arg"]) for j in held] == [("grains.setval", ["role", "gw"]),
                                                         ("grains.setval", ["site", "berlin"])]

    def test_known_keys_never_spend_a_use(self, parts, pubs) -> None:  # type: ignore[no-untyped-def]
        enrol, keys, jobs, claims = parts
        secret, _ = claims.create(max_uses=1, now=T0)
        keys.preseed("pi-acc", pubs[0])
        assert not enrol.admit("pi-acc", pubs[0], {"edgefleet_claim_token": secret})
        keys.decide("pi-pend", pubs[0], auto_sign=False, auto_reject=False)
        assert not enrol.admit("pi-pend", pubs[1], {"edgefleet_claim_token": secret})  # another key waits
        assert claims.list()[0].uses == 0
        assert enrol.admit("pi-pend", pubs[0], {"edgefleet_claim_token": secret})  # its own pending key
        assert not enrol.admit("pi-x", pubs[0], {})

    def test_refusal_is_logged_with_the_reason(self, parts, pubs, caplog) -> None:  # type: ignore[no-untyped-def]
        enrol, keys, jobs, claims = parts
        secret, token = claims.create(max_uses=1, expires_in=10, now=T0 - 20)
        with caplog.at_level(logging.WARNING, logger="cloud_master.enrollment"):
            assert not enrol.admit("pi-1", pubs[0], {"edgefleet_claim_token": secret})
        assert f"claim token refused for minion pi-1 (serial unknown): expired (token {token.id})" in caplog.text
