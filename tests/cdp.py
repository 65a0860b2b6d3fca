"""Headless Chromium (Debian's package) driven through the DevTools protocol; no browser downloads."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import connect

BINARIES = ("chromium", "chromium-browser", "google-chrome")


def chromium_binary() -> str | None:
    """The first Chromium on PATH, else None."""
    return next((found for name in BINARIES if (found := shutil.which(name))), None)


class Chromium:
    """A headless browser with one page, by `with`; `evaluate` runs JavaScript in the page."""

    def __init__(self, profile: Path):
        self.proc = subprocess.Popen(
            [
                chromium_binary(),
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required",
                "--mute-audio",
                "--remote-debugging-port=0",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.exit = ExitStack()
        self.exit.callback(self.proc.wait)
        self.exit.callback(self.proc.kill)
        try:
            self.socket = self.exit.enter_context(connect(self._page_socket(), max_size=None, open_timeout=10))
        except BaseException:
            self.exit.close()
            raise
        self.next_id = 0

    def _page_socket(self) -> str:
        """The DevTools websocket of the browser's page (the port is the one Chromium printed)."""
        for line in self.proc.stderr:
            found = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if found:
                threading.Thread(target=self.proc.stderr.read, daemon=True).start()  # keep the pipe drained
                with urllib.request.urlopen(f"http://127.0.0.1:{found.group(1)}/json/list", timeout=10) as resp:
                    return next(t for t in json.load(resp) if t["type"] == "page")["webSocketDebuggerUrl"]
        raise RuntimeError(f"chromium exited with {self.proc.wait()} before listening")

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc) -> None:
        self.exit.close()

    def call(self, method: str, **params) -> dict:
        """One DevTools command and its result (events in between are skipped)."""
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=30))
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page."""
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 30):
        """Poll an expression until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"not true within {timeout} s: {expression}")
