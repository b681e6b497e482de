"""A TCP chaos proxy for loopback tests: cut links, black-hole them, add latency, throttle.

    proxy = ChaosProxy({listen_port: ("127.0.0.1", target_port), ...})
    proxy.start()            # runs its own event loop in a thread
    proxy.cut(30)            # drop every connection and refuse new ones for 30 s
    proxy.blackhole()        # keep connections open but pass nothing (a half-open link)
    proxy.latency(0.2)       # add 200 ms each way
    proxy.throttle(10_000)   # bytes per second each way
    proxy.restore()
    proxy.stop()

Or from a shell: ``python -m tools.chaos_proxy LISTEN:TARGET [...]`` then type
``cut 30`` / ``blackhole`` / ``latency 0.2`` / ``throttle 10000`` / ``restore``.
Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, field


def _loopback(host: str) -> None:
    if host == "localhost":
        return
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"chaos proxy only talks to loopback addresses, not {host}")


@dataclass
class Faults:
    cut_until: float = 0.0
    blackhole: bool = False
    latency: float = 0.0
    rate: float = 0.0  # bytes/s, 0 = unlimited
    counts: dict[str, int] = field(default_factory=dict)


class ChaosProxy:
    def __init__(self, routes: dict[int, tuple[str, int]], listen_host: str = "127.0.0.1") -> None:
        _loopback(listen_host)
        for host, _ in routes.values():
            _loopback(host)
        self.routes = routes
        self.listen_host = listen_host
        self.faults = Faults()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._servers: list[asyncio.base_events.Server] = []
        self._conns: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()

    # ---- control (thread-safe) -------------------------------------------------------------

    def _count(self, what: str) -> None:
        self.faults.counts[what] = self.faults.counts.get(what, 0) + 1

    def cut(self, seconds: float = 3600.0) -> None:
        """Close every connection now and refuse new ones for ``seconds``."""
        self._count("cut")
        self.faults.cut_until = time.monotonic() + seconds
        self._call(self._close_all)

    def blackhole(self, on: bool = True) -> None:
        if on:
            self._count("blackhole")
        self.faults.blackhole = on

    def latency(self, seconds: float) -> None:
        if seconds:
            self._count("latency")
        self.faults.latency = seconds

    def throttle(self, bytes_per_second: float) -> None:
        if bytes_per_second:
            self._count("throttle")
        self.faults.rate = bytes_per_second

    def restore(self) -> None:
        self.faults.cut_until = 0.0
        self.faults.blackhole = False
        self.faults.latency = 0.0
        self.faults.rate = 0.0

    def _call(self, fn: object) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(fn)  # type: ignore[arg-type]

    @staticmethod
    def _reset(writer: asyncio.StreamWriter) -> None:
        """Drop a connection with a RST, like a vanished mobile link, not a polite FIN."""
        with contextlib.suppress(Exception):
            sock = writer.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def _close_all(self) -> None:
        for writer in list(self._conns):
            self._reset(writer)
        self._conns.clear()

    # ---- the proxy -------------------------------------------------------------------------

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                while self.faults.blackhole and time.monotonic() >= self.faults.cut_until:
                    # Held, like packets lost and retransmitted: the link looks alive, nothing passes.
                    await asyncio.sleep(0.05)
                if self.faults.latency:
                    await asyncio.sleep(self.faults.latency)
                if self.faults.rate:
                    await asyncio.sleep(len(data) / self.faults.rate)
                if time.monotonic() < self.faults.cut_until:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, target: tuple[str, int], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        if time.monotonic() < self.faults.cut_until:
            self._reset(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*target)
        except OSError:
            self._reset(writer)
            return
        self._conns.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            self._conns.discard(writer)
            self._conns.discard(up_writer)

    async def _main(self) -> None:
        for port, target in self.routes.items():
            server = await asyncio.start_server(
                lambda r, w, t=target: self._handle(t, r, w), self.listen_host, port, reuse_address=True)
            self._servers.append(server)
        self._ready.set()
        await asyncio.gather(*(s.serve_forever() for s in self._servers))

    def start(self) -> ChaosProxy:
        def run() -> None:
            self._loop = asyncio.new_event_loop()
            try:
                self._loop.run_until_complete(self._main())
            except (asyncio.CancelledError, RuntimeError):
                pass

        self._thread = threading.Thread(target=run, name="chaos-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("chaos proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        loop = self._loop

        def shutdown() -> None:
            self._close_all()
            for server in self._servers:
                server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()

        loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(5)
        self._loop = None


def main(argv: list[str]) -> int:
    routes = {}
    for spec in argv:
        listen, target = spec.split(":", 1)
        routes[int(listen)] = ("127.0.0.1", int(target))
    proxy = ChaosProxy(routes).start()
    print(f"proxying {routes}; commands: cut SECONDS | blackhole | latency S | throttle BPS | restore | quit")
    for line in sys.stdin:
        cmd, *rest = line.split() or [""]
        if cmd == "cut":
            proxy.cut(float(rest[0]) if rest else 3600)
        elif cmd == "blackhole":
            proxy.blackhole()
        elif cmd == "latency":
            proxy.latency(float(rest[0]))
        elif cmd == "throttle":
            proxy.throttle(float(rest[0]))
        elif cmd == "restore":
            proxy.restore()
        elif cmd == "quit":
            break
        print(f"ok {proxy.faults}")
    proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
