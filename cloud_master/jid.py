"""Job ids: Salt's 20-digit ``%Y%m%d%H%M%S%f`` timestamps, unique within a process.

The time is passed in (``datetime.now(timezone.utc)`` in production): a naive
datetime is used as is, an aware one is converted to UTC first. If the same or an
earlier value comes twice (two jobs in one microsecond, or the clock stepped back),
the new jid is the previous one plus one microsecond, so jids keep increasing.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta

__all__ = ["JidGenerator", "gen_jid", "is_jid", "jid_start_time", "jid_to_time"]

_JID_RE = re.compile(r"^(\d{20})(?:_\d+)?$")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ONE_US = timedelta(microseconds=1)


class JidGenerator:
    """Hands out strictly increasing jids; thread-safe."""

    def __init__(self) -> None:
        self._last: datetime | None = None
        self._lock = threading.Lock()

    def next(self, now: datetime) -> str:
        if now.tzinfo is not None:
            now = now.astimezone(UTC).replace(tzinfo=None)
        with self._lock:
            if self._last is not None and now <= self._last:
                now = self._last + _ONE_US
            self._last = now
        return f"{now:%Y%m%d%H%M%S%f}"


_PROCESS_JIDS = JidGenerator()


def gen_jid(now: datetime) -> str:
    """A new jid for ``now``, unique and increasing within this process."""
    return _PROCESS_JIDS.next(now)


def is_jid(value: object) -> bool:
    """True for a 20-digit jid, optionally with Salt's ``_<pid>`` suffix."""
    return isinstance(value, str) and _JID_RE.match(value) is not None


def jid_to_time(jid: str) -> datetime:
    """The (naive, UTC) time encoded in ``jid``.

    Raises:
        ValueError: ``jid`` is not a jid.
    """
    match = _JID_RE.match(jid) if isinstance(jid, str) else None
    if match is None:
        raise ValueError(f"not a jid: {jid!r}")
    return datetime.strptime(match.group(1), "%Y%m%d%H%M%S%f")


def jid_start_time(jid: str) -> str:
    """Salt's ``StartTime`` text, e.g. ``"2024, Jan 05 10:11:12.123456"``; "" for a non-jid."""
    try:
        when = jid_to_time(jid)
    except ValueError:
        return ""
    return f"{when:%Y}, {_MONTHS[when.month - 1]} {when:%d %H:%M:%S.%f}"
