"""A small Chrome DevTools Protocol client: launch headless Chromium, open a page, evaluate, screenshot.

Chromium runs with a fresh profile and every background service off, so the only network traffic
is what the page itself asks for (recorded in `Page.requests`).
"""

from __future__ import annotations

import base64
import json
import os
import queue
import shutil
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1400",
    "--remote-debugging-port=0",
]


def chromium_binary() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


class Page:
    def __init__(self, ws: ClientConnection, session_id: str):
        self.ws = ws
        self.session_id = session_id
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.requests: list[str] = []

    def call(
        self, method: str, params: dict[str, Any] | None = None, *, timeout: float = 30
    ) -> dict[str, Any]:
        self.next_id += 1
        message_id = self.next_id
        self.ws.send(
            json.dumps(
                {"id": message_id, "method": method, "params": params or {}, "sessionId": self.session_id}
            )
        )
        while True:
            message = json.loads(self.ws.recv(timeout=timeout))
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self._note(message)

    def _note(self, message: dict[str, Any]) -> None:
        if message.get("method") == "Network.requestWillBeSent":
            self.requests.append(message["params"]["request"]["url"])
        self.events.append(message)

    def wait_for(self, event: str, *, timeout: float = 30) -> dict[str, Any]:
        for seen in self.events:
            if seen.get("method") == event:
                self.events.remove(seen)
                return seen
        while True:
            message = json.loads(self.ws.recv(timeout=timeout))
            self._note(message)
            if message.get("method") == event:
                self.events.remove(message)
                return message

    def goto(self, url: str) -> None:
        self.call("Page.navigate", {"url": url})
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}
        )
        if "exceptionDetails" in result:
            raise RuntimeError(str(result["exceptionDetails"]))
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


def _devtools_url(process: subprocess.Popen[str], timeout: float = 30) -> str:
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if "DevTools listening on " in line:
                found.put(line.split("DevTools listening on ", 1)[1].strip())

    threading.Thread(target=read, daemon=True).start()
    return found.get(timeout=timeout)


@contextmanager
def browser_page(binary: str) -> Iterator[Page]:
    # Chromium helper processes may still be writing the profile as it closes: ignore cleanup errors.
    with tempfile.TemporaryDirectory(prefix="hedgerow-chromium-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            with connect(_devtools_url(process), max_size=None, open_timeout=30) as ws:
                ws.send(
                    json.dumps({"id": 1, "method": "Target.createTarget", "params": {"url": "about:blank"}})
                )
                target = _reply(ws, 1)["targetId"]
                ws.send(
                    json.dumps(
                        {
                            "id": 2,
                            "method": "Target.attachToTarget",
                            "params": {"targetId": target, "flatten": True},
                        }
                    )
                )
                page = Page(ws, _reply(ws, 2)["sessionId"])
                page.next_id = 10
                page.call("Page.enable")
                page.call("Network.enable")
                yield page
        finally:
            # The whole process group: the browser and its renderer/zygote helpers.
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def _reply(ws: ClientConnection, message_id: int) -> dict[str, Any]:
    while True:
        message = json.loads(ws.recv(timeout=30))
        if message.get("id") == message_id:
            return dict(message["result"])
