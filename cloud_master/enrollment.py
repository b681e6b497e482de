"""What the master does with a claim token presented at ``_auth``.

The token arrives as the autosign grain ``edgefleet_claim_token`` (the
handshake stays Salt's: a Salt minion with ``grains: {edgefleet_claim_token: ...}``
and ``autosign_grains: [edgefleet_claim_token, serialnumber]`` enrols the same
way). :meth:`ClaimEnrollment.admit` is consulted only when nothing else signs or
rejects the key, and only for a key the store does not know yet (or knows as
pending with the very same key): a device already accepted never spends a use,
and a token never overrides a rejected key or replaces another device's key.

Token grains: when a claim is accepted, the master holds one ``grains.setval``
job per token grain for the new minion, exactly as for any minion that was
offline when a job was published. The minion fetches held jobs right after it
signs in, persists the grains (``state_dir/grains.yaml``, which wins over its
own configuration), and reports them with its next grains update, so both the
master's targeting and the minion's own matching see them. The jobs are in the
job cache like any other, so ``fleet-run jobs.*`` shows what a claim applied.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from cloud_master.claims import CLAIM_GRAIN, SERIAL_GRAIN, ClaimStore
from cloud_master.jobcache import JobCache
from cloud_master.keystore import KeyStore, clean_key

__all__ = ["ClaimEnrollment"]

log = logging.getLogger(__name__)


class ClaimEnrollment:
    def __init__(self, claims: ClaimStore, keystore: KeyStore, jobcache: JobCache,
                 new_jid: Callable[[], str], job_ttl: float, clock: Callable[[], float]) -> None:
        self.claims = claims
        self.keystore = keystore
        self.jobcache = jobcache
        self._new_jid = new_jid
        self._job_ttl = job_ttl
        self._clock = clock

    def admit(self, minion_id: str, pub: str | bytes, autosign_grains: Mapping[str, Any]) -> bool:
        """True if ``minion_id``'s new key should be accepted on the strength of its claim token.

        Logs why a token is refused; the key then stays pending (Salt's normal path).
        """
        token = autosign_grains.get(CLAIM_GRAIN)
        if not isinstance(token, str) or not token:
            return False
        state = self.keystore.state(minion_id)
        if state == "pending":
            if self.keystore.get_pub(minion_id, "pending") != clean_key(pub):
                return False  # another key is waiting under this id: decide() denies this one
        elif state is not None:
            return False  # accepted, rejected or denied: the token changes nothing
        serial = autosign_grains.get(SERIAL_GRAIN)
        decision = self.claims.check_and_consume(minion_id, token, str(serial) if serial else None,
                                                 now=self._clock())
        if not decision.accepted:
            log.warning("claim token refused for minion %s (serial %s): %s%s; its key stays pending",
                        minion_id, serial or "unknown", decision.reason.value,
                        f" (token {decision.token_id})" if decision.token_id else "")
            return False
        log.info("minion %s enrolled with claim token %s (serial %s)", minion_id, decision.token_id,
                 serial or "unknown")
        self._hold_grains(minion_id, decision.grains)
        return True

    def _hold_grains(self, minion_id: str, grains: Mapping[str, Any]) -> None:
        now = self._clock()
        for key, value in sorted(grains.items()):
            jid = self._new_jid()
            load = {"fun": "grains.setval", "arg": [key, value], "tgt": minion_id, "tgt_type": "list",
                    "jid": jid, "ret": "", "user": "claim-token"}
            self.jobcache.add_job(jid, load, [minion_id], minion_id, "list", "grains.setval", [key, value],
                                  "claim-token", self._job_ttl, now=now)
            self.jobcache.mark(jid, [minion_id], "pending-offline", now)
            log.info("holding grains.setval %s for %s (claim token grain)", key, minion_id)
