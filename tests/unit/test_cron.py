"""The 5-field cron parser: syntax, errors, next_after, and agreement with croniter (Salt's)."""

from __future__ import annotations

import json
import random
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_minion.cron import Cron, CronError

T0 = datetime(2026, 11, 23, 7, 21, 30)  # a Monday


@pytest.mark.parametrize(("expr", "after", "expected"), [
    ("*/5 * * * *", T0, datetime(2026, 11, 23, 7, 25)),
    ("*/5 * * * *", datetime(2026, 11, 23, 7, 25), datetime(2026, 11, 23, 7, 30)),
    ("0 3 * * *", T0, datetime(2026, 11, 24, 3, 0)),
    ("59 23 31 12 *", T0, datetime(2026, 12, 31, 23, 59)),
    ("0 0 29 2 *", T0, datetime(2028, 2, 29, 0, 0)),
    ("15 10 * * 7", T0, datetime(2026, 11, 29, 10, 15)),  # 7 is Sunday
    ("15 10 * * sun", T0, datetime(2026, 11, 29, 10, 15)),
    ("0 9 * jan-mar mon-fri", T0, datetime(2027, 1, 1, 9, 0)),
    ("0 12 1 * mon", T0, datetime(2026, 11, 23, 12, 0)),  # both day fields: either matches
    ("0 12 1 * mon", datetime(2026, 11, 23, 12, 0), datetime(2026, 11, 30, 12, 0)),
    ("0 12 1 * mon", datetime(2026, 11, 30, 12, 0), datetime(2026, 12, 1, 12, 0)),
    ("10-20/5 8 * * *", T0, datetime(2026, 11, 23, 8, 10)),
    ("5/20 * * * *", T0, datetime(2026, 11, 23, 7, 25)),
    ("1,2,58 * * * *", T0, datetime(2026, 11, 23, 7, 58)),
    ("@hourly", T0, datetime(2026, 11, 23, 8, 0)),
    ("@daily", T0, datetime(2026, 11, 24, 0, 0)),
    ("@weekly", T0, datetime(2026, 11, 29, 0, 0)),
    ("@monthly", T0, datetime(2026, 12, 1, 0, 0)),
    ("@yearly", T0, datetime(2027, 1, 1, 0, 0)),
])
def test_next_after(expr: str, after: datetime, expected: datetime) -> None:
    assert Cron.parse(expr).next_after(after) == expected


@pytest.mark.parametrize(("expr", "message"), [
    ("* * * *", "needs 5 fields"),
    ("* * * * * *", "needs 5 fields"),
    ("60 * * * *", "outside 0-59"),
    ("* 24 * * *", "outside 0-23"),
    ("* * 0 * *", "outside 1-31"),
    ("* * * 13 *", "outside 1-12"),
    ("* * * * 8", "outside 0-7"),
    ("*/0 * * * *", "bad step"),
    ("*/x * * * *", "bad step"),
    ("5-1 * * * *", "runs backwards"),
    ("a * * * *", "not a number"),
    ("* * * foo *", "not a number or a name"),
    ("0 0 30 2 *", "no chosen month has"),
    ("0 0 31 4,6,9,11 *", "no chosen month has"),
])
def test_errors_name_the_problem(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message):
        Cron.parse(expr)


def test_cron_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Cron.parse(42)  # type: ignore[arg-type]


def test_keeps_time_zone_of_the_argument() -> None:
    from datetime import UTC

    assert Cron.parse("0 * * * *").next_after(T0.replace(tzinfo=UTC)).tzinfo is UTC


_FREQUENT = ["*/7 * * * *", "*/13 */2 * * *", "0,30 * * * mon-fri", "15 */3 * * *", "* 5 * * *",
             "0 0 * * *", "45 23 * * sat,sun", "0 12 1,15 * *", "0 12 1 * mon"]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_FREQUENT),
       st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)))
def test_next_is_the_first_match_after(expr: str, start: datetime) -> None:
    cron = Cron.parse(expr)
    nxt = cron.next_after(start)
    assert nxt > start and nxt.second == 0 and nxt.microsecond == 0
    assert cron.matches(nxt)
    probe = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    steps = 0
    while probe < nxt and steps < 20_000:  # every minute in between is not a match
        assert not cron.matches(probe), probe
        probe += timedelta(minutes=1)
        steps += 1


def _random_field(rng: random.Random, low: int, high: int, day_field: bool) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return "*"
    if kind == 1 and not day_field:
        return f"*/{rng.randint(1, (high - low) // 2 + 1)}"
    if kind == 2:  # croniter mishandles a one-value range ("0-0" reads as "*"), so ranges span two or more
        a = rng.randint(low, high - 1)
        return f"{a}-{rng.randint(a + 1, high)}"
    if kind == 3:
        return ",".join(str(v) for v in sorted(rng.sample(range(low, high + 1), rng.randint(1, 3))))
    return str(rng.randint(low, high))


def _random_exprs(n: int) -> list[str]:
    rng = random.Random(20261123)
    exprs = []
    while len(exprs) < n:
        fields = [_random_field(rng, 0, 59, False), _random_field(rng, 0, 23, False),
                  _random_field(rng, 1, 28, True), _random_field(rng, 1, 12, False), _random_field(rng, 0, 6, True)]
        exprs.append(" ".join(fields))
    return exprs


SALT_PYTHON = Path(__file__).resolve().parents[2] / ".salt-venv" / "bin" / "python"


@pytest.mark.skipif(not SALT_PYTHON.exists(), reason="no .salt-venv with croniter (tools/setup makes it)")
def test_agrees_with_croniter() -> None:
    """croniter is what Salt's ``cron:`` schedule option uses; ours must give the same times."""
    exprs = _random_exprs(300)
    starts = [datetime(2026, 11, 23, 7, 21, 30), datetime(2027, 2, 28, 23, 59), datetime(2028, 12, 31, 23, 59, 59)]
    script = (
        "import json, sys; from datetime import datetime; from croniter import croniter\n"
        "exprs, starts = json.load(sys.stdin)\n"
        "print(json.dumps([[croniter(e, datetime.fromisoformat(s)).get_next(datetime).isoformat() "
        "for s in starts] for e in exprs]))\n"
    )
    proc = subprocess.run([str(SALT_PYTHON), "-c", script], input=json.dumps([exprs, [s.isoformat() for s in starts]]),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0 and "No module named 'croniter'" in proc.stderr:
        pytest.skip("croniter is not installed in .salt-venv")
    assert proc.returncode == 0, proc.stderr
    theirs = json.loads(proc.stdout)
    for expr, answers in zip(exprs, theirs, strict=True):
        ours = [Cron.parse(expr).next_after(s).isoformat() for s in starts]
        assert ours == answers, expr
