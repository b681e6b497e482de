"""The enrollment claim token on the minion: where it is read from and how it is wiped.

A token comes from ``state_dir/claim_token`` (where the first-boot installer puts
it) or from the config option ``claim_token``; the file wins. The minion sends it
at ``_auth`` as the autosign grain ``edgefleet_claim_token`` together with its
``serialnumber`` grain, so the handshake stays Salt's. After the first accepted
``_auth`` the token is useless to the device and valuable to a thief, so it is
wiped: the file is removed and a ``claim_token:`` line is dropped from the
config file (when the minion knows that file and may write it).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from edge_minion.config import MinionConfig

__all__ = ["CLAIM_GRAIN", "FILENAME", "SERIAL_GRAIN", "read_claim_token", "wipe_claim_token"]

log = logging.getLogger(__name__)

#: Autosign grain names; the master (``cloud_master.claims``) reads the same names.
CLAIM_GRAIN = "edgefleet_claim_token"
SERIAL_GRAIN = "serialnumber"
FILENAME = "claim_token"
_CONFIG_LINE = re.compile(r"^claim_token\s*:.*(?:\n|$)", re.MULTILINE)


def read_claim_token(config: MinionConfig) -> str | None:
    """The token to present, or None when there is none."""
    path = config.state_dir / FILENAME
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    except OSError as exc:
        log.warning("cannot read the claim token %s: %s", path, exc)
        text = ""
    return text or (config.claim_token.strip() if config.claim_token else None) or None


def wipe_claim_token(config: MinionConfig, config_path: Path | None) -> None:
    """Remove the token from disk after a successful first ``_auth`` (never raises)."""
    path = config.state_dir / FILENAME
    try:
        path.unlink()
        log.info("claim token used; removed %s", path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.warning("cannot remove the used claim token %s: %s", path, exc)
    if config_path is None or not config.claim_token:
        return
    try:
        text = config_path.read_text(encoding="utf-8")
        cleaned = _CONFIG_LINE.sub("", text)
        if cleaned == text:
            return
        tmp = config_path.with_name(f".{config_path.name}.tmp{os.getpid()}")
        tmp.write_text(cleaned, encoding="utf-8")
        os.chmod(tmp, config_path.stat().st_mode & 0o7777)
        os.replace(tmp, config_path)
        log.info("claim token used; removed it from %s", config_path)
    except OSError as exc:
        log.warning("cannot remove the used claim token from %s: %s (remove the claim_token line by hand)",
                    config_path, exc)
