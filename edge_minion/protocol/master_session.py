"""The master's side of Salt's protocol, without I/O.

``parse_request`` turns a request frame into an :class:`AuthRequest` or an
:class:`AesEnvelope`; the shell looks up the minion's key state and session
key, then calls ``auth_reply`` or ``open_request`` / ``aes_reply``.
Anything malformed raises a RemoteProtocolError; the shell answers
:data:`BAD_LOAD_FRAME`, counts it, and carries on.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Mapping
from typing import Any, Literal

from edge_minion.protocol import payload, rsa
from edge_minion.protocol.crypticle import Crypticle, generate_key_string
from edge_minion.protocol.crypto import CryptoBackend
from edge_minion.protocol.errors import (
    AuthenticationFailed,
    MalformedMessage,
    UnsupportedVersion,
)
from edge_minion.protocol.messages import BAD_LOAD, AesEnvelope, AesRequest, AuthRequest, MasterRequest

BAD_LOAD_FRAME = payload.dumps(BAD_LOAD)
Decision = Literal["accept", "pending", "reject", "full"]


def valid_id(minion_id: object) -> bool:
    """Salt's ``valid_id``: a non-empty string without path separators or NUL."""
    return (
        isinstance(minion_id, str)
        and bool(minion_id)
        and not any(c in minion_id for c in "/\\\0")
        and minion_id not in (".", "..")
    )


class MasterProtocol:
    """Keys and counters of one master."""

    def __init__(
        self,
        private_pem: bytes,
        crypto: CryptoBackend,
        aes_key: str | None = None,
        minimum_version: int = 3,
        max_message_size: int | None = 10 * 1024 * 1024,
        sign_publishes: bool = True,
        entropy: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._crypto = crypto
        self._key = crypto.load_private(private_pem)
        self.pub = crypto.public_pem(self._key)
        self.minimum_version = minimum_version
        self.max_message_size = max_message_size
        self.sign_publishes = sign_publishes
        self._entropy = entropy
        self.aes = Crypticle(aes_key or generate_key_string(entropy), crypto, entropy)
        self.serial = 0
        self._aes_sig: bytes | None = None
        self._pub_cache: dict[str, Any] = {}
        # X9.31 is deterministic: a minion's tok never changes while its key does not, so a
        # tok verified once for (id, pub) is compared byte for byte afterwards.
        self._verified_toks: dict[str, tuple[str, bytes]] = {}
        self._crypticles: dict[str, Crypticle] = {}

    # ---- keys ------------------------------------------------------------------------------

    def rotate_aes(self, new_key: str | None = None) -> None:
        """Replace the shared key (a removed minion can no longer read publishes)."""
        self.aes = Crypticle(new_key or generate_key_string(self._entropy), self._crypto, self._entropy)
        self.serial = 0
        self._aes_sig = None

    def _public(self, pem: str) -> Any:
        key = self._pub_cache.get(pem)
        if key is None:
            key = self._crypto.load_public(pem)
            if len(self._pub_cache) > 100_000:
                self._pub_cache.clear()
            self._pub_cache[pem] = key
        return key

    # ---- requests --------------------------------------------------------------------------

    def parse_request(self, data: bytes) -> MasterRequest:
        """Classify a request frame; raise RemoteProtocolError on anything unacceptable."""
        msg = payload.loads(data, max_size=self.max_message_size)
        if not isinstance(msg, dict):
            raise MalformedMessage("request is not a mapping")
        version = msg.get("version", 0)
        if not isinstance(version, int) or version < self.minimum_version:
            raise UnsupportedVersion(f"request protocol version {version!r} < {self.minimum_version}")
        enc = msg.get("enc")
        if enc == "clear":
            return self._parse_auth(msg, version)
        if enc == "aes":
            mid, load = msg.get("id"), msg.get("load")
            if isinstance(load, str):  # ciphertext that happened to be valid UTF-8 (Salt's decoding rule)
                load = load.encode()
            if not valid_id(mid) or not isinstance(load, bytes):
                raise MalformedMessage("aes request lacks a valid id or load")
            assert isinstance(mid, str)
            return AesEnvelope(
                mid, load, str(msg.get("enc_algo", "OAEP-SHA1")), str(msg.get("sig_algo", "PKCS1v15-SHA1")),
                version,
            )
        raise MalformedMessage(f"unknown envelope enc {enc!r}")

    def _parse_auth(self, msg: Mapping[str, Any], version: int) -> AuthRequest:
        load = msg.get("load")
        if not isinstance(load, dict) or load.get("cmd") != "_auth":
            # Clear requests serve exactly one command: CVE-2020-11651's lesson.
            raise MalformedMessage("clear request other than _auth")
        mid, pub, nonce = load.get("id"), load.get("pub"), load.get("nonce")
        if not valid_id(mid) or not isinstance(pub, str) or not isinstance(nonce, str):
            raise MalformedMessage("_auth lacks a valid id, pub or nonce")
        assert isinstance(mid, str)
        self._public(rsa.clean_key(pub))  # must parse as an RSA public key
        token = load.get("token")
        grains = load.get("autosign_grains")
        return AuthRequest(
            minion_id=mid,
            pub=rsa.clean_key(pub),
            nonce=nonce,
            token=token if isinstance(token, bytes) else None,
            autosign_grains=grains if isinstance(grains, dict) else {},
            enc_algo=str(load.get("enc_algo", "OAEP-SHA1")),
            sig_algo=str(load.get("sig_algo", "PKCS1v15-SHA1")),
            version=version,
        )

    def auth_reply(self, req: AuthRequest, decision: Decision, session_key: str | None = None,
                   publish_port: int = 4505) -> bytes:
        """The signed reply to an auth request, given the key store's decision."""
        if req.enc_algo not in rsa.ENC_ALGOS:
            return payload.dumps({"enc": "clear", "load": {"ret": "bad enc algo"}})
        if req.sig_algo not in rsa.SIG_ALGOS:
            return payload.dumps({"enc": "clear", "load": {"ret": "bad sig algo"}})
        reply: dict[str, Any]
        if decision == "pending":
            reply = {"ret": True, "nonce": req.nonce}
        elif decision == "full":
            reply = {"ret": "full", "nonce": req.nonce}
        elif decision == "reject":
            reply = {"ret": False, "nonce": req.nonce}
        else:
            if session_key is None:
                raise ValueError("an accepted minion needs a session key")
            minion_pub = self._public(req.pub)
            aes_key = self.aes.key_string
            if self._aes_sig is None:
                digest = hashlib.sha256(aes_key.encode()).hexdigest().encode()
                self._aes_sig = rsa.x931_encrypt(self._crypto.private_numbers(self._key), digest)
            reply = {
                "enc": "pub",
                "pub_key": self.pub,
                "publish_port": publish_port,
                "aes": self._crypto.oaep_encrypt(minion_pub, aes_key.encode(), req.enc_algo),
                "session": self._crypto.oaep_encrypt(minion_pub, session_key.encode(), req.enc_algo),
                "sig": self._aes_sig,
                "nonce": req.nonce,
                # Our capability flag; stock minions ignore unknown keys.
                "edgefleet": 1,
            }
            if req.token is not None:
                try:
                    token = self._crypto.oaep_decrypt(self._key, req.token, req.enc_algo)
                except AuthenticationFailed:
                    token = None
                if token is not None:
                    reply["token"] = self._crypto.oaep_encrypt(minion_pub, token, req.enc_algo)
        raw = payload.dumps(reply)
        return payload.dumps({"enc": "clear", "load": raw, "sig": self._crypto.sign(self._key, raw, req.sig_algo)})

    def _session_crypticle(self, session_key: str) -> Crypticle:
        crypticle = self._crypticles.get(session_key)
        if crypticle is None:
            if len(self._crypticles) > 200_000:
                self._crypticles.clear()
            crypticle = self._crypticles[session_key] = Crypticle(session_key, self._crypto, self._entropy)
        return crypticle

    def open_request(self, env: AesEnvelope, session_key: str, minion_pub: str) -> AesRequest:
        """Decrypt with the minion's session key and check its ``tok`` against its accepted key."""
        inner = self._session_crypticle(session_key).loads(env.load, check_serial=False)
        if not isinstance(inner, dict):
            raise MalformedMessage("request load is not a mapping")
        if inner.get("id") != env.minion_id:
            raise AuthenticationFailed("inner id differs from envelope id")
        tok, nonce, cmd = inner.pop("tok", None), inner.pop("nonce", None), inner.get("cmd")
        if not isinstance(tok, bytes):
            raise AuthenticationFailed("request lacks its token")
        if self._verified_toks.get(env.minion_id) != (minion_pub, tok):
            if rsa.x931_decrypt(self._crypto.public_numbers(self._public(minion_pub)), tok) != b"salt":
                raise AuthenticationFailed("request token does not verify")
            self._verified_toks[env.minion_id] = (minion_pub, tok)
        if not isinstance(nonce, str) or not isinstance(cmd, str):
            raise MalformedMessage("request lacks nonce or cmd")
        ts = inner.get("ts")
        return AesRequest(env.minion_id, cmd, inner, nonce, ts if isinstance(ts, int) else None)

    def aes_reply(self, req: AesRequest, obj: Any, session_key: str) -> bytes:
        """Encrypt ``obj`` for ``req``'s minion, bound to its nonce."""
        return payload.dumps(self._session_crypticle(session_key).dumps(obj, nonce=req.nonce))

    def private_reply(self, req: AesRequest, obj: Any, minion_pub: str) -> bytes:
        """Salt's ``send_private`` shape (pillar): a one-shot key, signed data, nonce inside."""
        key = generate_key_string(self._entropy)
        key_blob = self._crypto.oaep_encrypt(self._public(minion_pub), key.encode())
        data = payload.dumps({"key": key_blob, "pillar": obj, "nonce": req.nonce})
        inner = {"data": data, "sig": self._crypto.sign(self._key, data)}
        return payload.dumps({"key": key_blob, "pillar": Crypticle(key, self._crypto, self._entropy).dumps(inner)})

    # ---- publishes -------------------------------------------------------------------------

    def publish(self, load: Mapping[str, Any]) -> bytes:
        """One publish frame for the PUB socket (a fresh serial each time)."""
        self.serial += 1
        body = dict(load)
        body["serial"] = self.serial
        blob = self.aes.dumps(body)
        msg: dict[str, Any] = {"enc": "aes", "load": blob}
        if self.sign_publishes:
            msg["sig_algo"] = "PKCS1v15-SHA1"
            msg["sig"] = self._crypto.sign(self._key, blob)
        return payload.dumps(msg)
