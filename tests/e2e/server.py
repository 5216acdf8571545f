"""A real `hedgerow serve` process on a free port, as a user would start it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[str]
    url: str
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_server(data_dir: Path, *, port: int | None = None, timeout: float = 60) -> Server:
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEROW_")}
    env["HEDGEROW_DATA_DIR"] = str(data_dir)
    log = data_dir.parent / f"server-{port}-{time.time_ns()}.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "hedgerow", "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/_health", timeout=2).status_code == 200:
                return Server(process, url, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not become ready:\n{log.read_text()}")


def first_run_credentials(server: Server) -> tuple[str, str, int]:
    """(capture token, personal API key, project id) printed by the first `serve` of a data dir."""
    text = server.log.read_text()
    token = re.search(r"capture token:\s+(\S+)", text)
    key = re.search(r"personal API key:\s+(\S+)", text)
    project = re.search(r"project id:\s+(\d+)", text)
    assert token and key and project, text
    return token.group(1), key.group(1), int(project.group(1))
