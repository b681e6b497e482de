import random

import pytest

from edge_minion.backoff import Backoff, backoff_delays


def test_delays_are_capped_full_jitter() -> None:
    gen = backoff_delays(1.0, 60.0, random.Random(7))
    delays = [next(gen) for _ in range(40)]
    for attempt, delay in enumerate(delays):
        assert 0 <= delay <= min(60.0, 2**attempt)
    # Jitter: late delays are spread, not pinned at the cap.
    late = delays[10:]
    assert max(late) <= 60 and len({round(d, 3) for d in late}) == len(late)
    assert min(late) < 45


def test_seeded_sequence_is_reproducible() -> None:
    a = backoff_delays(1, 60, random.Random(3))
    b = backoff_delays(1, 60, random.Random(3))
    assert [next(a) for _ in range(10)] == [next(b) for _ in range(10)]


def test_reset_starts_small_again() -> None:
    b = Backoff(1, 60, random.Random(1))
    for _ in range(20):
        b.next()
    assert b.failures == 20
    b.reset()
    assert b.failures == 0 and b.next() <= 1.0


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (1, 0), (-1, 5)])
def test_invalid_parameters(base: float, cap: float) -> None:
    with pytest.raises(ValueError):
        next(backoff_delays(base, cap))
