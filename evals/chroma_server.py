"""A `chroma run` server on loopback for the benchmarks, and its memory high-water mark."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ChromaServer:
    """A running server: its URL, data folder and process."""

    url: str
    data: Path
    process: subprocess.Popen

    def peak_rss_mb(self) -> float | None:
        """The server process's peak resident memory so far (Linux), None where unknown."""
        return vm_hwm_mb(self.process.pid)


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    """Peak RSS of a process from ``/proc/<pid>/status`` (its own mark, not its parent's)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def chroma_server(data: Path, start_seconds: float = 60.0) -> Iterator[ChromaServer]:
    """Start ``chroma run`` on a free loopback port over ``data``; stop it on leaving."""
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        raise RuntimeError("the chroma command is not installed (pip install chromadb)")
    port = _free_loopback_port()
    data.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(data)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma run did not start on port {port}")
            time.sleep(0.2)
        yield ChromaServer(f"http://127.0.0.1:{port}", data, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
