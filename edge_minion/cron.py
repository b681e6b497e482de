"""Five-field cron expressions, parsed once and asked for the next matching minute.

``Cron.parse("*/5 8-18 * * mon-fri").next_after(dt)`` is the first minute strictly
after ``dt`` whose fields all match. Pure: no clock, no time zone; ``dt`` is a
naive wall-clock datetime and so is the answer (the caller decides which zone
the wall clock is in).

Syntax, as in Vixie cron and Salt's ``cron:`` schedule option (croniter)::

    minute hour day-of-month month day-of-week
    *   a   a-b   a-b/n   */n   a/n   lists with ","
    months jan..dec, days sun..sat (0 and 7 are both Sunday)
    @yearly @annually @monthly @weekly @daily @midnight @hourly

Rule kept from Vixie cron: when both day-of-month and day-of-week are
restricted (neither starts with ``*``), a day matches if *either* does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from edge_minion.errors import ConfigError

__all__ = ["Cron", "CronError"]

_MACROS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, low, high, names counted from ``low``)
_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day-of-month", 1, 31, ()),
           ("month", 1, 12, _MONTHS), ("day-of-week", 0, 7, _DAYS))
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # the most each month can have
#: How far ahead ``next_after`` looks; a valid expression always matches within 8 years (Feb 29).
_HORIZON_DAYS = 366 * 8 + 2


class CronError(ConfigError):
    """A cron expression is malformed or can never match."""


def _value(text: str, low: int, names: tuple[str, ...]) -> int:
    word = text.lower()
    if names and word in names:
        return names.index(word) + low
    if not word.isdigit():
        raise ValueError(f"{text!r} is not a number{' or a name' if names else ''}")
    return int(word)


def _field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise CronError(f"{name}: bad step {step_text!r} in {part!r}")
            step = int(step_text)
        try:
            if base == "*":
                start, stop = low, high
            elif "-" in base:
                first, _, last = base.partition("-")
                start, stop = _value(first, low, names), _value(last, low, names)
            else:
                start = _value(base, low, names)
                stop = high if step_text else start
        except ValueError as exc:
            raise CronError(f"{name}: {exc}") from exc
        if not (low <= start <= high and low <= stop <= high):
            raise CronError(f"{name}: {part!r} is outside {low}-{high}")
        if start > stop:
            raise CronError(f"{name}: range {part!r} runs backwards")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed expression; ``text`` is what was given."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday .. 6 = Saturday
    day_or: bool  # both day fields restricted: either may match

    @classmethod
    def parse(cls, text: str) -> Cron:
        """Parse ``text``.

        Raises:
            CronError: wrong number of fields, a bad value, or a date that never exists (``0 0 30 2 *``).
        """
        if not isinstance(text, str):
            raise CronError(f"a cron expression must be a string, not {type(text).__name__}")
        spec = _MACROS.get(text.strip().lower(), text)
        parts = spec.split()
        if len(parts) != 5:
            raise CronError(f"cron expression {text!r} needs 5 fields (minute hour day month weekday), "
                            f"got {len(parts)}")
        sets = [_field(p, *f) for p, f in zip(parts, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        cron = cls(text, sets[0], sets[1], sets[2], sets[3], weekdays,
                   day_or=not parts[2].startswith("*") and not parts[4].startswith("*"))
        if not cron.day_or and parts[4].startswith("*") and \
                not any(d <= _DAYS_IN_MONTH[m - 1] for m in cron.months for d in cron.days):
            raise CronError(f"cron expression {text!r} names a day that no chosen month has")
        return cron

    def _day_matches(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_dom = day.day in self.days
        in_dow = (day.isoweekday() % 7) in self.weekdays
        return (in_dom or in_dow) if self.day_or else (in_dom and in_dow)

    def matches(self, dt: datetime) -> bool:
        """True if the minute holding ``dt`` is one of the expression's."""
        return dt.minute in self.minutes and dt.hour in self.hours and self._day_matches(dt.date())

    def next_after(self, dt: datetime) -> datetime:
        """The first matching minute strictly after ``dt`` (seconds and below are zero)."""
        start = dt.replace(second=0, microsecond=0) + timedelta(minutes=1)
        day = start.date()
        for _ in range(_HORIZON_DAYS):
            if self._day_matches(day):
                first_day = day == start.date()
                for hour in sorted(self.hours):
                    if first_day and hour < start.hour:
                        continue
                    for minute in sorted(self.minutes):
                        if first_day and hour == start.hour and minute < start.minute:
                            continue
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=dt.tzinfo)
            day += timedelta(days=1)
        raise CronError(f"cron expression {self.text!r} has no match within 8 years of {dt:%Y-%m-%d}")

    def __str__(self) -> str:
        return self.text
