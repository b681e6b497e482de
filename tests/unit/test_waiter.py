"""The fleet CLI's wait logic against a scripted control channel and an injected clock."""

from __future__ import annotations

from typing import Any

from cloud_master.waiter import wait_for_returns


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class ScriptedControl:
    """Delivers scripted messages at given times; answers find_job publishes by a rule."""

    def __init__(self, clock: FakeClock, script: list[tuple[float, dict[str, Any]]],
                 running: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.clock = clock
        self.script = sorted(script, key=lambda x: x[0])
        self.sent: list[dict[str, Any]] = []
        self.running = running

    def send(self, msg: dict[str, Any]) -> None:
        self.sent.append(msg)
        if msg.get("cmd") == "publish" and msg["fun"] == "saltutil.find_job":
            t = self.clock.t
            self.script.append((t + 0.1, {"event": "published", "jid": "probe"}))
            for mid in msg["tgt"]:
                if mid in self.running:
                    ret = {"jid": msg["arg"][0], "fun": "test.sleep"}
                    self.script.append((t + 0.2, {"event": "return", "jid": "probe", "id": mid,
                                                  "load": {"return": ret}}))
            self.script.sort(key=lambda x: x[0])

    def recv(self, timeout: float) -> dict[str, Any] | None:
        if self.script and self.script[0][0] <= self.clock.t + timeout:
            t, msg = self.script.pop(0)
            self.clock.t = max(self.clock.t, t)
            return msg
        self.clock.t += timeout
        return None


def ret(mid: str, value: Any, jid: str = "J") -> dict[str, Any]:
    return {"event": "return", "jid": jid, "id": mid, "load": {"return": value, "retcode": 0}}


def test_exits_when_all_answered_without_waiting_for_timeout() -> None:
    clock = FakeClock()
    ctl = ScriptedControl(clock, [(0.2, ret("a", True)), (0.3, ret("b", True))])
    seen: list[str] = []
    out = wait_for_returns(ctl, {"jid": "J", "minions": ["a", "b"], "offline": ["c"]}, 5, 10,
                           lambda m, load: seen.append(m), clock=clock)
    assert seen == ["a", "b"] and clock.t < 1.0
    assert out.offline == ["c"] and out.missing == ["c"] and out.no_response == []


def test_silent_minion_is_no_response_after_timeout_and_gather() -> None:
    clock = FakeClock()
    ctl = ScriptedControl(clock, [(0.1, ret("a", True))])
    out = wait_for_returns(ctl, {"jid": "J", "minions": ["a", "b"]}, 2, 3, lambda m, load: None, clock=clock)
    assert out.no_response == ["b"] and out.still_running == []
    assert 5.0 <= clock.t < 6.0
    assert any(m.get("fun") == "saltutil.find_job" and m["tgt"] == ["b"] for m in ctl.sent)


def test_running_minion_gets_more_time_and_its_return_is_kept() -> None:
    clock = FakeClock()
    ctl = ScriptedControl(clock, [(6.5, ret("slow", "done"))], running={"slow"})
    progress: list[tuple[int, int, list[str]]] = []
    out = wait_for_returns(ctl, {"jid": "J", "minions": ["slow"]}, 2, 3, lambda m, load: None,
                           on_progress=lambda a, e, r: progress.append((a, e, r)), clock=clock)
    assert out.returns["slow"]["return"] == "done" and out.missing == []
    assert any(r == ["slow"] for _, _, r in progress), "progress must say who is still running"


def test_max_wait_gives_up_on_running_minions() -> None:
    clock = FakeClock()
    ctl = ScriptedControl(clock, [], running={"slow"})
    out = wait_for_returns(ctl, {"jid": "J", "minions": ["slow"]}, 1, 1, lambda m, load: None,
                           max_wait=10, clock=clock)
    assert out.still_running == ["slow"] and out.no_response == []
