"""Whether a new minion key is signed or rejected automatically (Salt's ``AutoKey``).

``check_autosign`` is true when any of these holds, checked in Salt's order:

1. ``auto_accept`` is on;
2. a line of ``autosign_file`` matches the id;
3. a stub file ``pki_dir/minions_autosign/<id>`` exists (it is consumed; stubs older
   than ``autosign_timeout`` minutes are removed first);
4. a file ``autosign_grains_dir/<grain>`` lists ``str(value)`` of a grain the minion
   sent in ``autosign_grains`` (a grain the minion does not have, sent as None, never
   matches).

``check_autoreject`` is true when a line of ``autoreject_file`` matches the id.

A line matches when it equals the id, matches it as a glob (``fnmatch``), or as a
regular expression anchored at both ends. ``#`` comments and blank lines are skipped.
A list file that is writable by others, or by its group without
``permissive_pki_access``, is ignored with a warning: whoever can write it could
enrol any device. A list that cannot be read counts as matching nothing.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path

from cloud_master.config import MasterConfig
from cloud_master.keystore import valid_id

__all__ = ["check_autoreject", "check_autosign", "expr_match"]

log = logging.getLogger(__name__)


def expr_match(minion_id: str, expr: str) -> bool:
    """Exact, glob, then anchored-regex match of ``minion_id`` against one list line.

    The regex is grouped before anchoring, so ``a|b`` must match the whole id; Salt's
    ``\\Aa|b\\Z`` would also accept ``ax``, which is too loose for signing keys.
    """
    if minion_id == expr or fnmatch.fnmatch(minion_id, expr):
        return True
    try:
        return re.match(rf"\A(?:{expr})\Z", minion_id) is not None
    except re.error:
        return False


def check_autosign(
    config: MasterConfig,
    minion_id: str,
    autosign_grains: Mapping[str, object] | None = None,
    now: float | None = None,
) -> bool:
    """True if a new key from ``minion_id`` should be accepted without an operator.

    ``now`` (epoch seconds, default ``time.time()``) ages the ``minions_autosign`` stubs.
    """
    if config.auto_accept:
        return True
    if config.autosign_file is not None and _file_matches(config, config.autosign_file, minion_id):
        return True
    if _consume_stub(config, minion_id, time.time() if now is None else now):
        return True
    if autosign_grains and config.autosign_grains_dir is not None:
        return _grains_match(config, config.autosign_grains_dir, autosign_grains)
    return False


def check_autoreject(config: MasterConfig, minion_id: str) -> bool:
    """True if a new key from ``minion_id`` should be rejected without an operator."""
    return config.autoreject_file is not None and _file_matches(config, config.autoreject_file, minion_id)


def _safe_permissions(config: MasterConfig, path: Path, st: os.stat_result) -> bool:
    if st.st_mode & stat.S_IWOTH:
        return False
    if st.st_mode & stat.S_IWGRP:
        if not config.permissive_pki_access:
            return False
        # Running as root, the writing group must be one of ours to be trusted.
        if os.geteuid() == 0 and st.st_gid not in {os.getegid(), *os.getgroups()}:
            return False
    return True


def _read_lines(config: MasterConfig, path: Path) -> list[str]:
    """The entries of a list file, or [] if it is absent, unreadable or unsafe."""
    try:
        with path.open(encoding="utf-8") as handle:
            if not _safe_permissions(config, path, os.fstat(handle.fileno())):
                log.warning("%s is writable by group or others; ignoring its content", path)
                return []
            lines = [line.strip() for line in handle]
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("cannot read %s, treating it as empty: %s", path, exc)
        return []
    return [line for line in lines if line and not line.startswith("#")]


def _file_matches(config: MasterConfig, path: Path, minion_id: str) -> bool:
    return any(expr_match(minion_id, line) for line in _read_lines(config, path))


def _consume_stub(config: MasterConfig, minion_id: str, now: float) -> bool:
    stub_dir = config.pki_dir / "minions_autosign"
    try:
        entries = list(os.scandir(stub_dir))
    except OSError:
        return False
    if config.autosign_timeout > 0:
        oldest = now - 60 * config.autosign_timeout
        for entry in entries:
            try:
                if entry.is_file() and entry.stat().st_mtime < oldest:
                    log.warning("autosign stub %s expired", entry.path)
                    os.remove(entry.path)
            except OSError as exc:
                log.warning("cannot expire autosign stub %s: %s", entry.path, exc)
    if not valid_id(config.pki_dir, minion_id):
        return False
    try:
        os.remove(stub_dir / minion_id)
    except FileNotFoundError:
        return False
    except OSError as exc:
        log.warning("cannot consume autosign stub for %s: %s", minion_id, exc)
        return False
    log.info("autosign stub for %s consumed", minion_id)
    return True


def _grains_match(config: MasterConfig, grains_dir: Path, grains: Mapping[str, object]) -> bool:
    # Walk the directory rather than joining grain names the minion chose onto a path.
    try:
        names = [e.name for e in os.scandir(grains_dir) if e.is_file()]
    except OSError:
        return False
    for name in names:
        if name in grains and grains[name] is not None:
            value = str(grains[name])
            if value in _read_lines(config, grains_dir / name):
                return True
    return False
