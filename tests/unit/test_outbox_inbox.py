"""The minion's durable outbox and inbox on real SQLite files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_minion.inbox import Inbox
from edge_minion.outbox import Outbox, OutboxError


def test_outbox_keeps_order_and_survives_reopen(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    for i in range(5):
        box.put({"jid": str(i), "return": i}, str(i), created=1000.0 + i)
    box.close()
    box = Outbox(tmp_path / "o.sqlite")
    entries = box.peek(10)
    assert [e.load["return"] for e in entries] == [0, 1, 2, 3, 4]
    assert [e.created for e in entries] == [1000.0 + i for i in range(5)]
    box.ack(entries[0].seq)
    assert len(box) == 4 and box.peek(1)[0].load["return"] == 1


def test_outbox_size_bound_drops_oldest_and_counts(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite", max_bytes=2000)
    for i in range(50):
        box.put({"jid": str(i), "return": "x" * 100}, str(i))
    assert box.size_bytes <= 2000
    assert box.dropped > 0 and len(box) + box.dropped == 50
    assert box.peek(1)[0].load["jid"] == str(box.dropped)  # the newest survive, in order


def test_return_survives_sigkill_after_put(tmp_path: Path) -> None:
    """A child puts a return and is killed at once: the row is there (synchronous=FULL)."""
    code = (
        "import os, signal, sys; from pathlib import Path; from edge_minion.outbox import Outbox;"
        f"b = Outbox(Path({str(tmp_path / 'o.sqlite')!r})); b.put({{'jid': '1', 'return': 42}}, '1');"
        "os.kill(os.getpid(), signal.SIGKILL)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parents[2])
    assert proc.returncode == -9
    assert Outbox(tmp_path / "o.sqlite").peek(1)[0].load["return"] == 42


def test_inbox_runs_a_jid_once(tmp_path: Path) -> None:
    inbox = Inbox(Outbox(tmp_path / "o.sqlite"))
    load = {"jid": "20260101", "fun": "test.ping", "arg": []}
    assert inbox.accept(load) is True
    assert inbox.accept(load) is False
    inbox2 = Inbox(Outbox(tmp_path / "o.sqlite"))
    assert inbox2.accept(load) is False, "de-duplication must survive a restart"


def test_finish_is_atomic_with_the_return(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    inbox = Inbox(box)
    inbox.accept({"jid": "1", "fun": "test.ping", "arg": []})
    inbox.started("1")
    assert inbox.unfinished()[0][0] == "running"
    inbox.finish("1", {"jid": "1", "return": True})
    assert inbox.state("1") == "done" and inbox.unfinished() == []
    assert box.peek(1)[0].load == {"jid": "1", "return": True}


def test_read_only_disk_is_a_clear_error(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.sqlite")
    box.put({"jid": "1"}, "1")
    box.close()
    db = tmp_path / "o.sqlite"
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(db)], check=True)
    else:
        db.chmod(0o444)
    try:
        box = Outbox(db)
        with pytest.raises(OutboxError, match="cannot write"):
            box.put({"jid": "2"}, "2")
        assert box.peek(5)[0].load == {"jid": "1"}, "nothing already queued is lost"
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(db)], check=True)
