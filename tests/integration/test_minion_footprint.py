"""A running minion maps neither cryptography's OpenSSL nor the system's: that is most of its memory diet.

Idle RSS is a benchmark figure (``python -m tools.bench.minion_rss``), not a test; what is
tested is the cause, so an import that drags OpenSSL back into the minion fails here.
"""

from __future__ import annotations

from pathlib import Path

from tests.fleet_harness import Master


def _mapped(pid: int) -> set[str]:
    names = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6:
            names.add(Path(parts[5]).name)
    return names


def test_an_idle_minion_that_has_run_jobs_maps_no_openssl(master: Master, make_minion) -> None:  # type: ignore[no-untyped-def]
    mn = make_minion("lean-1")
    mn.wait_log("minion ready")
    data, _ = master.fleet_json("lean-1", "test.ping")
    assert data == {"lean-1": True}
    data, _ = master.fleet_json("lean-1", "grains.item", "os")
    assert "lean-1" in data
    assert mn.proc is not None
    mapped = _mapped(mn.proc.pid)
    openssl = sorted(n for n in mapped if n.startswith(("libcrypto", "libssl", "_ssl.", "_hashlib.", "_rust.")))
    assert not openssl, f"the minion maps {openssl}"
    assert any(n.startswith("_raw_aes") for n in mapped)  # pycryptodomex does its AES
