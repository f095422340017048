"""A small loopback TCP proxy that injects network faults between a device
and the server: cut a connection after N bytes (either direction), stall it,
or delay every chunk. Each accepted connection takes the next fault from
``plan``, then a random one at ``fault_rate``. Everything stays on 127.0.0.1
and every wait is bounded."""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

PATCH_OFFSET = re.compile(rb"PATCH [^\r\n]+\r\n(?:[^\r\n]+\r\n)*?upload-offset: *(\d+)", re.I)


@dataclass
class Fault:
    kind: str = "ok"  # ok | cut_up | cut_down | stall | delay
    after: int = 0  # bytes before a cut or a stall
    seconds: float = 0.0  # stall length, or delay per chunk


@dataclass
class Stats:
    connections: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    bytes_up: int = 0
    bytes_down: int = 0
    patch_offsets: list[int] = field(default_factory=list)


class FaultProxy:
    def __init__(self, upstream_port: int, seed: int = 0, fault_rate: float = 0.0) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.plan: list[Fault] = []
        self.stats = Stats()
        self.lock = threading.Lock()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.stopping = threading.Event()
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> "FaultProxy":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.sock.close()
        with self.lock:
            for c in self.conns:
                try:
                    c.close()
                except OSError:
                    pass

    def random_fault(self) -> Fault:
        kind = self.rng.choice(["cut_up", "cut_up", "cut_down", "stall", "delay"])
        if kind == "cut_up":
            return Fault(kind, after=self.rng.randint(1, 200_000))
        if kind == "cut_down":
            return Fault(kind, after=self.rng.randint(1, 4_000))
        if kind == "stall":
            return Fault(kind, after=self.rng.randint(0, 100_000), seconds=3.0)
        return Fault(kind, seconds=self.rng.random() * 0.02)

    def _next_fault(self) -> Fault:
        with self.lock:
            if self.plan:
                return self.plan.pop(0)
            if self.fault_rate and self.rng.random() < self.fault_rate:
                return self.random_fault()
        return Fault()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                client, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            fault = self._next_fault()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.stats.connections += 1
                if fault.kind != "ok":
                    self.stats.faults[fault.kind] = self.stats.faults.get(fault.kind, 0) + 1
                self.conns += [client, server]
            done = threading.Event()
            for src, dst, up in ((client, server, True), (server, client, False)):
                threading.Thread(target=self._pump, args=(src, dst, up, fault, done),
                                 daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, up: bool, fault: Fault,
              done: threading.Event) -> None:
        moved = 0
        src.settimeout(0.5)
        cut = (fault.kind == "cut_up" and up) or (fault.kind == "cut_down" and not up)
        try:
            while not done.is_set() and not self.stopping.is_set():
                try:
                    data = src.recv(65536)
                except socket.timeout:
                    continue
                if not data:
                    break
                if up:
                    for m in PATCH_OFFSET.finditer(data):
                        with self.lock:
                            self.stats.patch_offsets.append(int(m.group(1)))
                if cut and moved + len(data) >= fault.after:
                    dst.sendall(data[: fault.after - moved])
                    break  # the line drops mid-stream
                if fault.kind == "stall" and up and moved + len(data) >= fault.after:
                    self.stopping.wait(fault.seconds)  # bounded
                    fault = Fault()
                if fault.kind == "delay":
                    time.sleep(fault.seconds)
                dst.sendall(data)
                moved += len(data)
                with self.lock:
                    if up:
                        self.stats.bytes_up += len(data)
                    else:
                        self.stats.bytes_down += len(data)
        except OSError:
            pass
        finally:
            done.set()
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
