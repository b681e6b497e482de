"""Reconnect delays: capped exponential back-off with full jitter.

Pure: the generator yields delays and never sleeps; the caller injects its
random source, so a seeded ``random.Random`` gives a reproducible sequence.
"""

from __future__ import annotations

import random
from collections.abc import Iterator


def backoff_delays(base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None) -> Iterator[float]:
    """Yield delays drawn uniformly from [0, min(cap, base * 2**attempt)], forever.

    Full jitter spreads a fleet that lost its master at the same moment, so
    thousands of devices do not reconnect in lockstep.
    """
    if base <= 0 or cap <= 0:
        raise ValueError("base and cap must be positive")
    rand = rng or random.Random()
    attempt = 0
    while True:
        ceiling = min(cap, base * (2 ** min(attempt, 62)))
        yield rand.uniform(0, ceiling)
        attempt += 1


class Backoff:
    """A resettable back-off: ``next()`` after a failure, ``reset()`` after a success."""

    def __init__(self, base: float = 1.0, cap: float = 60.0, rng: random.Random | None = None) -> None:
        self.base, self.cap = base, cap
        self._rng = rng or random.Random()
        self._delays = backoff_delays(base, cap, self._rng)
        self.failures = 0

    def next(self) -> float:
        self.failures += 1
        return next(self._delays)

    def reset(self) -> None:
        self.failures = 0
        self._delays = backoff_delays(self.base, self.cap, self._rng)
