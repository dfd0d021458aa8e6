"""A MinIO server process, watched: it is killed when the harness's pipe closes.

    python -m harness.servers.minio_server BINARY DATA_DIR
with MINIO_ROOT_USER / MINIO_ROOT_PASSWORD in the environment; prints the port
once /minio/health/live answers, serves until stdin closes.
"""

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Linux: MinIO gets SIGKILL if this watcher dies, whatever kills it.
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def main() -> int:
    binary, data = sys.argv[1], sys.argv[2]
    for _attempt in range(5):
        port, console = free_port(), free_port()
        proc = subprocess.Popen([binary, "server", data, "--quiet", "--address", f"127.0.0.1:{port}",
                                 "--console-address", f"127.0.0.1:{console}"],
                                stdout=subprocess.DEVNULL, stderr=sys.stderr, preexec_fn=_die_with_parent,
                                env={**os.environ, "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"})
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/minio/health/live", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        if proc.poll() is None and time.monotonic() < deadline:
            break
        proc.kill()
        proc.wait()
    else:
        print("minio did not become ready", file=sys.stderr)
        return 1
    print(port, flush=True)
    sys.stdin.read()
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
