"""A server binary run as a watched child: it gets SIGKILL when its watcher dies, and
is stopped when the harness's pipe (the watcher's stdin) closes.

Used by the emulator modules (fake-gcs-server, Azurite): each picks a free loopback
port, starts the server, waits until `ready(port)` holds, prints the port and serves.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def die_with_parent():
    # Linux: the server gets SIGKILL if its watcher dies, whatever kills it.
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def answers(url: str) -> bool:
    """Any HTTP answer (also an error status) means the server is up."""
    try:
        urllib.request.urlopen(url, timeout=2).read()
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def serve(command_for_port, ready_url_for_port, what: str, env: dict | None = None, timeout: float = 60) -> int:
    for _attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(command_for_port(port), stdout=subprocess.DEVNULL, stderr=sys.stderr,
                                stdin=subprocess.DEVNULL, preexec_fn=die_with_parent, env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and proc.poll() is None:
            if answers(ready_url_for_port(port)):
                break
            time.sleep(0.2)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        proc.kill()
        proc.wait()
    else:
        print(f"{what} did not become ready", file=sys.stderr)
        return 1
    print(port, flush=True)
    sys.stdin.read()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return 0
