"""moto's S3 application served alone (harness/servers/moto_server.py) against moto's
ThreadedMotoServer (its dispatcher of every AWS service), side by side in one run.

Starts both servers, puts the same small objects into each, then alternates rounds of signed
GETs (boto3, as the readers' S3 clients send them) and list requests against the two, and
prints the mean time of a request through each and their ratio. The S3 answers of the served
application are checked apart, by tests/test_store_behaviour.py.

    python bench/moto_server.py [--requests 300] [--rounds 3]
"""

from __future__ import annotations

import argparse
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


def start(cmd: list[str]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, cwd=ROOT)
    return proc, int(proc.stdout.readline())


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
               "S3 application alone (harness)": start([sys.executable, "-m", "harness.servers.moto_server"])}
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
        for _ in range(args.rounds):
            for name, s3 in clients.items():
                g, ls = round_of(s3, args.requests)
                gets[name].append(g)
                lists[name].append(ls)
        for name in servers:
            print(f"{name:34s} GET {1000 * statistics.mean(gets[name]):6.2f} ms   "
                  f"LIST {1000 * statistics.mean(lists[name]):6.2f} ms")
        old, new = (statistics.mean(v) for v in gets.values())
        print(f"GET time, alone / dispatcher: {new / old:.2f}")
    finally:
        for proc, _ in servers.values():
            proc.stdin.close()
            proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
