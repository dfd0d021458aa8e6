"""The Python end of tests/browser/driver.mjs: one headless Chromium page, driven by playwright-core.

Used by tests/test_site.py (browser tests), bench/site_size.py (first-view time) and
scripts/site-screenshots.py. `npm ci` runs in tests/browser when playwright-core is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("ZC_CHROMIUM", "/usr/bin/chromium")


class BrowserError(RuntimeError):
    pass


def unavailable() -> str:
    """Why the browser cannot run here ('' when it can)."""
    if not shutil.which("node"):
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"no chromium at {CHROMIUM} (scripts/install-test-deps.sh, or set ZC_CHROMIUM)"
    return ""


def ensure_installed() -> None:
    if (HERE / "node_modules" / "playwright-core" / "package.json").exists():
        return
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise BrowserError("npm ci in tests/browser failed: " + (proc.stderr or proc.stdout)[-600:])


class Browser:
    """with Browser() as b: b.goto(path); b.click("a"); b.eval("() => document.title")"""

    def __init__(self):
        ensure_installed()
        self.proc = subprocess.Popen(["node", str(HERE / "driver.mjs")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, "ZC_CHROMIUM": CHROMIUM})
        self.errors: list[str] = []  # the pages' script errors, all along
        self.outside: list[str] = []  # requests that tried to leave file://

    def call(self, op: str, **kw) -> dict:
        self.proc.stdin.write(json.dumps({"op": op, **kw}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"the browser driver died: {self.proc.stderr.read()[-1500:]}")
        out = json.loads(line)
        self.errors += out.get("errors") or []
        self.outside += out.get("outside") or []
        if not out.get("ok"):
            raise BrowserError(f"{op} {kw}: {out.get('error')}")
        return out

    def goto(self, path: str | Path, fragment: str = "") -> dict:
        url = Path(path).resolve().as_uri() if not str(path).startswith(("file:", "http:", "https:")) else str(path)
        return self.call("goto", url=url + (("#" + fragment) if fragment else ""))

    def click(self, selector: str) -> dict:
        return self.call("click", selector=selector)

    def eval(self, js: str):
        return self.call("eval", js=js)["value"]

    def wait(self, selector: str, state: str = "visible", timeout: int = 15000) -> None:
        self.call("wait", selector=selector, state=state, timeout=timeout)

    def text(self, selector: str) -> str:
        return self.eval(f"() => (document.querySelector({json.dumps(selector)}) || {{}}).textContent || ''")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "bye"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
