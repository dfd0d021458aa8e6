"""moto's S3 application as the harness serves it (harness/servers/moto_server.py: alone, on
waitress) against moto's ThreadedMotoServer (its dispatcher of every AWS service, on werkzeug's
development server) and against the S3 application alone on werkzeug's server, side by side in
one run.

Starts the three servers, puts the same small objects into each, then alternates rounds of
signed GETs (boto3, as the readers' S3 clients send them) and list requests against them, and
prints the mean time of a request through each, the server's CPU time per GET, and the ratios
to the dispatcher. werkzeug's server closes the connection after every response, waitress keeps
it alive. The S3 answers of the served application are checked apart, by
tests/test_store_behaviour.py.

    python bench/moto_server.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parent.parent
DISPATCHER = """
import sys
from moto.server import ThreadedMotoServer
s = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
s.start()
print(s.get_host_and_port()[1], flush=True)
sys.stdin.read()
"""
WERKZEUG = """
import sys, threading
from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server
class H(MotoRequestHandler):
    def log_request(self, *a, **k): pass
s = make_server("127.0.0.1", 0, create_backend_app("s3"), threaded=True, request_handler=H)
threading.Thread(target=s.serve_forever, daemon=True).start()
print(s.server_port, flush=True)
sys.stdin.read()
"""


def start(cmd: list[str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=ROOT)
    return proc, int(proc.stdout.readline())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def client(port: int):
    return boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                        aws_access_key_id="bench", aws_secret_access_key="bench-secret")


def round_of(s3, n: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    for i in range(n):
        s3.get_object(Bucket="bench-bucket", Key=f"array/{i % 50}")["Body"].read()
    get = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n // 10):
        s3.list_objects_v2(Bucket="bench-bucket", Prefix="array/")
    return get, (time.perf_counter() - t0) / max(1, n // 10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=300, help="GETs per round and server")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    servers = {"dispatcher (ThreadedMotoServer)": start([sys.executable, "-c", DISPATCHER]),
               "S3 application alone, werkzeug": start([sys.executable, "-c", WERKZEUG]),
               "S3 application alone, waitress (harness)": start([sys.executable, "-m", "harness.servers.moto_server"])}
    try:
        clients = {}
        for name, (_, port) in servers.items():
            s3 = clients[name] = client(port)
            s3.create_bucket(Bucket="bench-bucket")
            for i in range(50):
                s3.put_object(Bucket="bench-bucket", Key=f"array/{i}", Body=bytes(range(256)) * 8)
            round_of(s3, 20)  # warm up
        gets = {name: [] for name in servers}
        lists = {name: [] for name in servers}
        cpu = {name: 0.0 for name in servers}
        for _ in range(args.rounds):
            for name, s3 in clients.items():
                pid = servers[name][0].pid
                before = cpu_seconds(pid)
                g, ls = round_of(s3, args.requests)
                cpu[name] += cpu_seconds(pid) - before
                gets[name].append(g)
                lists[name].append(ls)
        requests = args.rounds * (args.requests + args.requests // 10)
        for name in servers:
            print(f"{name:42s} GET {1000 * statistics.mean(gets[name]):6.2f} ms   "
                  f"LIST {1000 * statistics.mean(lists[name]):6.2f} ms   "
                  f"server CPU {1000 * cpu[name] / requests:5.2f} ms a request")
        base, *others = (statistics.mean(v) for v in gets.values())
        for name, t in zip(list(servers)[1:], others):
            print(f"GET time, {name} / dispatcher: {t / base:.2f}")
    finally:
        for proc, _ in servers.values():
            proc.stdin.close()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
