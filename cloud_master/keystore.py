"""Minion keys on disk in Salt's pki layout, and Salt's decision on each ``_auth``.

Layout under ``pki_dir`` (the same names as a Salt master)::

    master.pem          RSA private key, TraditionalOpenSSL PEM, mode 0400
    master.pub          SubjectPublicKeyInfo PEM
    minions/<id>        accepted
    minions_pre/<id>    pending
    minions_rejected/<id>
    minions_denied/<id> the last *other* key offered for an id already known

Invariants:

* A key file holds the minion's public PEM after ``clean_key`` (no trailing
  newline), exactly as Salt stores what the minion sent.
* Every write goes to a temporary file in the same directory, then ``os.replace``;
  a move between states is one ``os.replace``. Readers see the old or the new file.
* Removing a key (``reject``, ``delete`` and their ``_all``) drops
  ``cache_dir/.dfn`` so the running master rotates the shared AES key and the
  removed minion can no longer read publishes (Salt's ``salt.crypt.dropfile``).

``cryptography`` is imported only by the functions that need it, so the CLI
starts fast.
"""

from __future__ import annotations

import enum
import fnmatch
import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cloud_master.errors import KeyNotFound, KeyStoreError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

__all__ = ["DIRS", "Decision", "KeyStore", "clean_key", "fingerprint_pem", "generate_keypair",
           "valid_id", "write_keypair"]

log = logging.getLogger(__name__)

#: Key state -> directory under pki_dir; the order is the order of ``list()``.
DIRS = {"accepted": "minions", "pending": "minions_pre", "rejected": "minions_rejected",
        "denied": "minions_denied"}
KeyListing = dict[str, list[str]]
IdList = list[str]
ROTATION_FILE = ".dfn"
_NAME_MAX = 255


class Decision(enum.StrEnum):
    """Outcome of ``KeyStore.decide`` for one ``_auth`` request."""

    ACCEPT = "accept"
    PENDING = "pending"
    REJECT = "reject"
    DENIED = "denied"

    @property
    def result(self) -> bool:
        """``ret`` of the reply when not accepted (True: "pending, retry later"), and the
        ``result`` of the ``salt/auth`` event."""
        return self in (Decision.ACCEPT, Decision.PENDING)

    @property
    def act(self) -> str:
        """``act`` of the ``salt/auth`` event."""
        return "pend" if self is Decision.PENDING else self.value


def clean_key(pem: str | bytes) -> str:
    """Salt's ``clean_key``: stripped, ``\\n`` line endings, no trailing newline."""
    text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
    return "\n".join(text.strip().splitlines())


def fingerprint_pem(pem: str | bytes, hash_type: str = "sha256") -> str:
    """Salt's ``pem_finger``: hash of the base64 body lines (newlines included), hex
    pairs joined by ``:``. Matches ``salt-key -f`` and a minion's ``master_finger``."""
    lines = [line for line in clean_key(pem).split("\n") if line.strip()][1:-1]
    digest = hashlib.new(hash_type, "".join(line + "\n" for line in lines).encode()).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def valid_id(pki_dir: Path | str, minion_id: object) -> bool:
    """Salt's ``valid_id``: a non-empty string without ``/``, ``\\`` or NUL that names a
    file directly under ``pki_dir``. Ids starting with ``.`` are refused too (they would
    be hidden from listings, like our temporary files), as are ids too long for a filename."""
    if not isinstance(minion_id, str) or not minion_id or minion_id.startswith("."):
        return False
    if any(c in minion_id for c in "/\\\0") or len(minion_id.encode("utf-8", "replace")) > _NAME_MAX:
        return False
    root = os.path.normpath(os.path.abspath(pki_dir))
    return os.path.dirname(os.path.normpath(os.path.join(root, minion_id))) == root


def generate_keypair(keysize: int = 2048) -> tuple[str, str]:
    """A new RSA key pair as ``(private PEM "BEGIN RSA PRIVATE KEY", public PEM)``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=keysize)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return private.decode("ascii"), _public_pem_of(key)


def write_keypair(directory: Path, name: str, keysize: int = 2048) -> tuple[Path, Path]:
    """Write ``name.pem`` (0400) and ``name.pub`` into ``directory`` (``salt-key --gen-keys``).

    Raises:
        KeyStoreError: either file exists already, or writing failed.
    """
    pem_path, pub_path = directory / f"{name}.pem", directory / f"{name}.pub"
    for path in (pem_path, pub_path):
        if path.exists():
            raise KeyStoreError(f"{path} already exists; not overwriting it")
    private, public = generate_keypair(keysize)
    _mkdir(directory)
    _atomic_write(pem_path, private, 0o400)
    _atomic_write(pub_path, public, 0o644)
    return pem_path, pub_path


def _public_pem_of(key: RSAPrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    public = key.public_key()
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def _check_public_pem(pem: str) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnicodeEncodeError) as exc:
        raise KeyStoreError(f"not a PEM public key: {exc}") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise KeyStoreError(f"not an RSA public key: {type(key).__name__}")


def _mkdir(path: Path) -> None:
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyStoreError(f"cannot create directory {path}: {exc}") from exc


def _atomic_write(path: Path, text: str, mode: int) -> None:
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, mode)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise KeyStoreError(f"cannot write {path}: {exc}") from exc


class KeyStore:
    """Minion and master keys under ``pki_dir``; see the module docstring.

    ``cache_dir`` (default: ``pki_dir/../cache``, which is ``MasterConfig.cache_dir``)
    receives the rotation drop file. Methods are safe to call from several threads;
    across processes every change is a single atomic rename.
    """

    def __init__(self, pki_dir: Path | str, cache_dir: Path | str | None = None) -> None:
        self.pki_dir = Path(pki_dir)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else self.pki_dir.parent / "cache"
        self._lock = threading.RLock()

    def ensure_master_keys(self, keysize: int = 2048) -> tuple[str, str]:
        """Return ``(master.pem, master.pub)`` text, generating the pair if absent.

        A missing ``master.pub`` is derived from ``master.pem``.

        Raises:
            KeyStoreError: unreadable or corrupt key, or ``master.pub`` not matching ``master.pem``.
        """
        pem_path, pub_path = self.pki_dir / "master.pem", self.pki_dir / "master.pub"
        with self._lock:
            _mkdir(self.pki_dir)
            if not pem_path.exists():
                private, public = generate_keypair(keysize)
                _atomic_write(pem_path, private, 0o400)
                _atomic_write(pub_path, public, 0o644)
                log.info("generated master key pair in %s", self.pki_dir)
                return private, public
            private = self._read(pem_path)
            if pem_path.stat().st_mode & 0o077:
                log.warning("%s is readable by group or others; it should be mode 0400", pem_path)
            derived = _public_of_private(private, pem_path)
            if not pub_path.exists():
                _atomic_write(pub_path, derived, 0o644)
                return private, derived
            public = self._read(pub_path)
            if clean_key(public) != clean_key(derived):
                raise KeyStoreError(f"{pub_path} does not match {pem_path}; "
                                    f"remove {pub_path} to derive it again")
            return private, public

    def state(self, minion_id: str) -> str | None:
        """``"accepted"|"pending"|"rejected"|"denied"`` or None (also for an invalid id).

        An id stored in several directories reports the one that decides its next
        ``_auth``: rejected, then accepted, then pending, then denied.
        """
        if not valid_id(self.pki_dir, minion_id):
            return None
        for state in ("rejected", "accepted", "pending", "denied"):
            if self._path(state, minion_id).is_file():
                return state
        return None

    def get_pub(self, minion_id: str, state: str = "accepted") -> str:
        """The stored public PEM of ``minion_id`` in ``state`` (clean_key'd).

        Raises:
            KeyNotFound: no key for the id in that state.
            KeyStoreError: invalid id or state, or the file cannot be read.
        """
        path = self._path(state, self._checked(minion_id))
        if not path.is_file():
            raise KeyNotFound(f"no {state} key for minion {minion_id!r}")
        return clean_key(self._read(path))

    def fingerprint(self, minion_id: str, state: str | None = None, hash_type: str = "sha256") -> str:
        """``salt-key -f`` fingerprint of the key in ``state`` (default: ``state(minion_id)``).

        Raises:
            KeyNotFound: no key for the id.
        """
        found = state or self.state(minion_id)
        if found is None:
            raise KeyNotFound(f"no key for minion {minion_id!r}")
        return fingerprint_pem(self.get_pub(minion_id, found), hash_type)

    def match(self, pattern: str) -> KeyListing:
        """``list()`` restricted to ids matching the glob ``pattern``."""
        return {d: [i for i in ids if fnmatch.fnmatch(i, pattern)] for d, ids in self.list().items()}

    def accept(self, minion_id: str, *, include_rejected: bool = False,
               include_denied: bool = False) -> None:
        """Move a pending key (or a rejected / denied one, if asked) to accepted.

        Raises:
            KeyNotFound: no key for the id in those states.
        """
        self._move(self._checked(minion_id), _sources(rejected=include_rejected,
                                                     denied=include_denied), "accepted")

    def accept_all(self, *, include_rejected: bool = False, include_denied: bool = False) -> list[str]:
        """Accept every pending key (and rejected / denied ones, if asked); return the ids."""
        return self._move_all("accept", include_rejected=include_rejected,
                              include_denied=include_denied)

    def reject(self, minion_id: str, *, include_accepted: bool = False,
               include_denied: bool = False) -> None:
        """Move a pending key (or an accepted / denied one, if asked) to rejected.

        Raises:
            KeyNotFound: no key for the id in those states.
        """
        with self._lock:
            self._move(self._checked(minion_id), _sources(accepted=include_accepted,
                                                         denied=include_denied), "rejected")
            self._request_rotation()

    def reject_all(self, *, include_accepted: bool = False, include_denied: bool = False) -> list[str]:
        """Reject every pending key (and accepted / denied ones, if asked); return the ids."""
        return self._move_all("reject", include_accepted=include_accepted,
                              include_denied=include_denied)

    def delete(self, minion_id: str) -> None:
        """Remove the id from every state.

        Raises:
            KeyNotFound: the id is in no state.
        """
        minion_id = self._checked(minion_id)
        with self._lock:
            removed = False
            for state in DIRS:
                try:
                    self._path(state, minion_id).unlink()
                    removed = True
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    raise KeyStoreError(f"cannot delete key of {minion_id!r}: {exc}") from exc
            if not removed:
                raise KeyNotFound(f"no key for minion {minion_id!r}")
            self._request_rotation()

    def delete_all(self) -> list[str]:
        """Remove every minion key; return the ids removed."""
        with self._lock:
            ids = sorted({i for ids in self.list().values() for i in ids})
            for minion_id in ids:
                self.delete(minion_id)
            return ids

    def preseed(self, minion_id: str, pub_pem: str | bytes) -> None:
        """Register ``pub_pem`` as the accepted key of ``minion_id`` (replacing pending,
        rejected or another accepted key; replacing an accepted key requests rotation).

        Raises:
            KeyStoreError: invalid id, not an RSA public PEM, or the write failed.
        """
        minion_id, pub = self._checked(minion_id), clean_key(pub_pem)
        _check_public_pem(pub)
        with self._lock:
            replaced = self.state(minion_id) == "accepted" and self.get_pub(minion_id) != pub
            self._write("accepted", minion_id, pub)
            for state in ("pending", "rejected"):
                self._path(state, minion_id).unlink(missing_ok=True)
            if replaced:
                self._request_rotation()

    def decide(self, minion_id: str, pub_pem: str | bytes, auto_sign: bool, auto_reject: bool) -> Decision:
        """Salt's key decision for an ``_auth`` from ``minion_id`` offering ``pub_pem``.

        Stores the key where Salt does (pending, accepted, rejected, or the offered key
        in denied). An invalid id or a pub that is not an RSA public PEM is REJECT and
        stores nothing.

        Raises:
            KeyStoreError: the pki directory cannot be read or written.
        """
        if not valid_id(self.pki_dir, minion_id):
            log.warning("auth from invalid minion id %r refused", minion_id)
            return Decision.REJECT
        pub = clean_key(pub_pem)
        try:
            _check_public_pem(pub)
        except KeyStoreError as exc:
            log.warning("auth from %s refused: %s", minion_id, exc)
            return Decision.REJECT
        with self._lock:
            if self._path("rejected", minion_id).is_file():
                return Decision.REJECT
            if self._path("accepted", minion_id).is_file():
                if self.get_pub(minion_id, "accepted") != pub:
                    return self._deny(minion_id, pub, "accepted")
                return Decision.ACCEPT
            if self._path("pending", minion_id).is_file():
                if auto_reject:
                    self._move(minion_id, ["pending"], "rejected")
                    return Decision.REJECT
                if self.get_pub(minion_id, "pending") != pub:
                    return self._deny(minion_id, pub, "pending")
                if not auto_sign:
                    return Decision.PENDING
                self._move(minion_id, ["pending"], "accepted")
                return Decision.ACCEPT
            if auto_reject:
                self._write("rejected", minion_id, pub)
                return Decision.REJECT
            if not auto_sign:
                self._write("pending", minion_id, pub)
                return Decision.PENDING
            self._write("accepted", minion_id, pub)
            return Decision.ACCEPT

    def rotation_requested(self) -> bool:
        """True if a key was removed since the master last rotated its AES key."""
        return (self.cache_dir / ROTATION_FILE).exists()

    def clear_rotation(self) -> None:
        """Forget the request (the master calls this after rotating)."""
        try:
            (self.cache_dir / ROTATION_FILE).unlink(missing_ok=True)
        except OSError as exc:
            raise KeyStoreError(f"cannot remove {self.cache_dir / ROTATION_FILE}: {exc}") from exc

    # From here on ``list`` names this method inside the class body: annotate with IdList.
    def list(self) -> KeyListing:
        """``{"minions": [...], "minions_pre": [...], "minions_rejected": [...],
        "minions_denied": [...]}``, each sorted; hidden files are skipped."""
        listing: KeyListing = {}
        for directory in DIRS.values():
            try:
                entries = os.scandir(self.pki_dir / directory)
            except FileNotFoundError:
                listing[directory] = []
                continue
            except OSError as exc:
                raise KeyStoreError(f"cannot list {self.pki_dir / directory}: {exc}") from exc
            with entries:
                listing[directory] = sorted(
                    e.name for e in entries if not e.name.startswith(".") and e.is_file()
                )
        return listing

    def _checked(self, minion_id: str) -> str:
        if not valid_id(self.pki_dir, minion_id):
            raise KeyStoreError(f"invalid minion id {minion_id!r}")
        return minion_id

    def _path(self, state: str, minion_id: str) -> Path:
        try:
            return self.pki_dir / DIRS[state] / minion_id
        except KeyError:
            raise KeyStoreError(f"unknown key state {state!r}; one of {', '.join(DIRS)}") from None

    def _read(self, path: Path) -> str:
        try:
            return path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyStoreError(f"cannot read {path}: {exc}") from exc

    def _write(self, state: str, minion_id: str, pub: str) -> None:
        path = self._path(state, minion_id)
        _mkdir(path.parent)
        _atomic_write(path, pub, 0o644)

    def _deny(self, minion_id: str, pub: str, known: str) -> Decision:
        log.error("auth from %s refused: its key differs from the %s one; stored it as denied",
                  minion_id, known)
        self._write("denied", minion_id, pub)
        return Decision.DENIED

    def _move(self, minion_id: str, sources: Sequence[str], target: str) -> None:
        with self._lock:
            for state in sources:
                src = self._path(state, minion_id)
                if src.is_file():
                    dst = self._path(target, minion_id)
                    _mkdir(dst.parent)
                    try:
                        os.replace(src, dst)
                    except OSError as exc:
                        raise KeyStoreError(f"cannot move {src} to {dst}: {exc}") from exc
                    return
            raise KeyNotFound(f"no {' or '.join(sources)} key for minion {minion_id!r}")

    def _move_all(self, verb: str, **include: bool) -> IdList:
        with self._lock:
            listing = self.list()
            sources = _sources(**{k.removeprefix("include_"): v for k, v in include.items()})
            ids = sorted({i for s in sources for i in listing[DIRS[s]]})
            for minion_id in ids:
                if verb == "accept":
                    self.accept(minion_id, **include)
                else:
                    self.reject(minion_id, **include)
            return ids

    def _request_rotation(self) -> None:
        path = self.cache_dir / ROTATION_FILE
        if path.exists():
            return
        _mkdir(self.cache_dir)
        _atomic_write(path, "", 0o400)
        log.info("key removed: requested rotation of the AES key (%s)", path)


def _sources(**include: bool) -> list[str]:
    """States a key is taken from: always pending, plus those asked for."""
    return ["pending", *(state for state in ("accepted", "rejected", "denied") if include.get(state))]


def _public_of_private(private: str, path: Path) -> str:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(private.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError) as exc:
        raise KeyStoreError(f"{path} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise KeyStoreError(f"{path} is not an RSA private key")
    return _public_pem_of(key)
