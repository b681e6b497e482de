"""The minion's side of Salt's protocol, without I/O.

The shell asks for bytes to send (``auth_request``, ``request``) and feeds back
what arrives (``handle_auth_reply``, ``handle_reply``, ``handle_publish``).
The session never reads a clock (``now`` is passed in) and takes its
randomness from an injected ``entropy`` function.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any

from edge_minion.protocol import payload, rsa
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.crypto import CryptoBackend
from edge_minion.protocol.errors import (
    AuthenticationFailed,
    LocalProtocolError,
    MalformedMessage,
    RemoteProtocolError,
)
from edge_minion.protocol.messages import (
    BAD_LOAD,
    AuthAccepted,
    AuthFull,
    AuthOutcome,
    AuthPending,
    AuthRejected,
)

PROTOCOL_VERSION = 3


class MasterKeyChanged(AuthenticationFailed):
    """The master's public key differs from the pinned one."""

    reason = "master-key"


class BadLoad(RemoteProtocolError):
    """The master answered ``"bad load"``: it could not open our request (stale session)."""

    reason = "bad-load"


class MinionSession:
    """Keys and counters of one minion talking to one master."""

    def __init__(
        self,
        minion_id: str,
        private_pem: bytes,
        crypto: CryptoBackend,
        master_pub: str | None = None,
        master_finger: str | None = None,
        enc_algo: str = "OAEP-SHA1",
        sig_algo: str = "PKCS1v15-SHA1",
        autosign_grains: Mapping[str, Any] | None = None,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.minion_id = minion_id
        self._crypto = crypto
        self._key = crypto.load_private(private_pem)
        self.pub = crypto.public_pem(self._key)
        self.master_pub = rsa.clean_key(master_pub) if master_pub else None
        self.master_finger = master_finger
        self.enc_algo = enc_algo
        self.sig_algo = sig_algo
        self.autosign_grains = dict(autosign_grains or {})
        self._entropy = entropy
        self._tok = rsa.x931_encrypt(crypto.private_numbers(self._key), b"salt")
        self._pending: tuple[str, str] | None = None  # (nonce, token) of the auth in flight
        self.aes: Crypticle | None = None
        self.session: Crypticle | None = None
        self._master_key: tuple[str, Any] | None = None  # (pem, parsed key), parsed once

    @property
    def authenticated(self) -> bool:
        return self.aes is not None and self.session is not None

    def _master_public(self) -> Any:
        """The pinned master key, parsed once per key text."""
        if self.master_pub is None:
            raise LocalProtocolError("no master key")
        if self._master_key is None or self._master_key[0] != self.master_pub:
            self._master_key = (self.master_pub, self._crypto.load_public(self.master_pub))
        return self._master_key[1]

    def _nonce(self) -> str:
        return self._entropy(16).hex()

    # ---- authentication --------------------------------------------------------------------

    def auth_request(self) -> bytes:
        """The clear ``_auth`` request to send on the request port."""
        nonce = self._nonce()
        token = generate_key_string(self._entropy)
        load: dict[str, Any] = {
            "cmd": "_auth",
            "id": self.minion_id,
            "nonce": nonce,
            "enc_algo": self.enc_algo,
            "sig_algo": self.sig_algo,
            "pub": self.pub,
        }
        if self.master_pub:
            load["token"] = self._crypto.oaep_encrypt(self._master_public(), token.encode(), self.enc_algo)
        if self.autosign_grains:
            load["autosign_grains"] = self.autosign_grains
        self._pending = (nonce, token)
        return payload.dumps({"enc": "clear", "version": PROTOCOL_VERSION, "load": load})

    def handle_auth_reply(self, data: bytes) -> AuthOutcome:
        """Check the master's answer to :meth:`auth_request`; keys are installed on success."""
        if self._pending is None:
            raise LocalProtocolError("no authentication in flight")
        nonce, token = self._pending
        self._pending = None
        msg = payload.loads(data)
        if msg == BAD_LOAD:
            raise BadLoad("master refused the auth request (protocol version?)")
        if not isinstance(msg, dict) or "load" not in msg:
            raise MalformedMessage("auth reply is not an envelope")
        raw = msg["load"]
        if isinstance(raw, dict):  # unsigned reply: only "bad enc algo" / "bad sig algo"
            raise AuthenticationFailed(f"master refused our algorithms: {raw.get('ret')!r}")
        if isinstance(raw, str):
            raw = raw.encode()
        if not isinstance(raw, bytes):
            raise MalformedMessage("auth reply load has the wrong type")
        load = payload.loads(raw)
        if not isinstance(load, dict):
            raise MalformedMessage("auth reply load is not a mapping")
        sig = msg.get("sig")
        master_pub = load.get("pub_key") if isinstance(load.get("pub_key"), str) else None
        first_contact = False
        if master_pub:
            first_contact = self._verify_master_key(master_pub)
        # Like Salt, a refusal on first contact (no key known yet) cannot be verified; it
        # carries no secret. An acceptance always carries pub_key, so it is always verified.
        if self.master_pub is not None:
            if not isinstance(sig, bytes):
                raise AuthenticationFailed("auth reply is not signed")
            self._crypto.verify(self._master_public(), raw, sig, self.sig_algo)
        if load.get("nonce") != nonce:
            raise AuthenticationFailed("auth reply nonce does not match")
        if "ret" in load:
            ret = load["ret"]
            if ret is True:
                return AuthPending()
            if ret == "full":
                return AuthFull()
            return AuthRejected()
        return self._install_keys(load, token, first_contact)

    def _verify_master_key(self, master_pub: str) -> bool:
        clean = rsa.clean_key(master_pub)
        if self.master_finger and not hmac.compare_digest(
            rsa.fingerprint(clean).replace(":", "").lower(), self.master_finger.replace(":", "").lower()
        ):
            raise MasterKeyChanged("master key does not match master_finger")
        if self.master_pub is None:
            self.master_pub = clean
            return True
        if clean != self.master_pub:
            raise MasterKeyChanged("master key changed; refusing to talk to it")
        return False

    def _install_keys(self, load: dict[str, Any], token: str, first_contact: bool) -> AuthAccepted:
        try:
            aes_key = self._crypto.oaep_decrypt(self._key, load["aes"], self.enc_algo).decode()
            session_key = self._crypto.oaep_decrypt(self._key, load["session"], self.enc_algo).decode()
            sig = load["sig"]
        except KeyError as exc:
            raise MalformedMessage(f"auth reply lacks {exc}") from exc
        if self.master_pub is None:
            raise AuthenticationFailed("acceptance came without the master's public key")
        digest = rsa.x931_decrypt(self._crypto.public_numbers(self._master_public()), sig)
        if digest != hashlib.sha256(aes_key.encode()).hexdigest().encode():
            raise AuthenticationFailed("AES key signature does not verify")
        if "token" in load:
            echoed = self._crypto.oaep_decrypt(self._key, load["token"], self.enc_algo).decode()
            if echoed != token:
                raise AuthenticationFailed("master did not echo our token")
        self.aes = Crypticle(aes_key, self._crypto, self._entropy)
        self.session = Crypticle(session_key, self._crypto, self._entropy)
        port = load.get("publish_port", 4505)
        return AuthAccepted(int(port), self.master_pub, first_contact, bool(load.get("edgefleet")))

    def forget_keys(self) -> None:
        """Drop the session after a decryption failure; the next step is re-auth."""
        self.aes = None
        self.session = None

    # ---- encrypted requests ----------------------------------------------------------------

    def request(self, load: Mapping[str, Any], now: float) -> tuple[bytes, str]:
        """Wrap ``load`` (with ``cmd``) as a v3 request; returns (frame, nonce)."""
        if self.session is None:
            raise LocalProtocolError("not authenticated")
        nonce = self._nonce()
        inner = dict(load)
        inner.update({"id": self.minion_id, "nonce": nonce, "ts": int(now), "tok": self._tok})
        envelope = {
            "enc": "aes",
            "version": PROTOCOL_VERSION,
            "id": self.minion_id,
            "enc_algo": self.enc_algo,
            "sig_algo": self.sig_algo,
            "load": self.session.dumps(inner),
        }
        return payload.dumps(envelope), nonce

    def handle_reply(self, data: bytes, nonce: str) -> Any:
        """Open the master's reply to a :meth:`request`."""
        if self.session is None:
            raise LocalProtocolError("not authenticated")
        msg = payload.loads(data)
        if isinstance(msg, str):
            raise BadLoad(f"master answered {msg!r}")
        if not isinstance(msg, bytes):
            if isinstance(msg, dict) and "key" in msg and "pillar" in msg:
                return self._open_private(msg, nonce)
            raise MalformedMessage("reply is neither ciphertext nor a private envelope")
        return self.session.loads(msg, nonce=nonce, check_serial=False)

    def _open_private(self, msg: dict[str, Any], nonce: str) -> Any:
        """Unwrap ``send_private`` (the pillar reply): OAEP key, Crypticle, signature, nonce."""
        if self.master_pub is None:
            raise LocalProtocolError("no master key")
        key = self._crypto.oaep_decrypt(self._key, msg["key"], self.enc_algo).decode()
        outer = Crypticle(key, self._crypto, self._entropy).loads(msg["pillar"], check_serial=False)
        if not isinstance(outer, dict) or "data" not in outer or "sig" not in outer:
            raise MalformedMessage("private reply lacks data/sig")
        data = outer["data"] if isinstance(outer["data"], bytes) else str(outer["data"]).encode()
        self._crypto.verify(self._master_public(), data, outer["sig"], self.sig_algo)
        inner = payload.loads(data)
        if not isinstance(inner, dict) or inner.get("nonce") != nonce:
            raise AuthenticationFailed("private reply nonce does not match")
        return inner.get("pillar")

    # ---- publishes -------------------------------------------------------------------------

    def handle_publish(self, frames: list[bytes], max_size: int | None = None) -> dict[str, Any]:
        """Decrypt a publish (1 frame, or [topic, blob]); AuthenticationFailed means re-auth."""
        if self.aes is None:
            raise LocalProtocolError("not authenticated")
        blob = frames[-1]
        msg = payload.loads(blob, max_size=max_size)
        if not isinstance(msg, dict) or msg.get("enc") != "aes" or not isinstance(msg.get("load"), bytes):
            raise MalformedMessage("publish is not an aes envelope")
        if "sig" in msg and self.master_pub is not None:
            self._crypto.verify(self._master_public(), msg["load"], msg["sig"], msg.get("sig_algo", self.sig_algo))
        load = self.aes.loads(msg["load"])
        if not isinstance(load, dict):
            raise MalformedMessage("publish load is not a mapping")
        return load
