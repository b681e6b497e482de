from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fleet_harness import Master, Minion


@pytest.fixture
def master() -> Iterator[Master]:
    m = Master()
    m.start()
    yield m
    m.cleanup()


@pytest.fixture
def make_minion(master: Master) -> Iterator:  # type: ignore[type-arg]
    made: list[Minion] = []

    def make(minion_id: str, accept: bool = True, **kw: object) -> Minion:
        mn = Minion(minion_id, master, **kw)  # type: ignore[arg-type]
        mn.start()
        made.append(mn)
        if accept:
            master.accept(minion_id)
            mn.wait_authenticated()
        return mn

    yield make
    for mn in made:
        mn.cleanup()
