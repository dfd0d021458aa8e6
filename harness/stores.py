"""Store backends: where datasets are published and read from.

Each backend owns its endpoint: it starts it (random loopback port, random
credentials), publishes datasets into it and describes a dataset to readers
as a protocol STORE object. `stop()` is guaranteed by the run (also on Ctrl-C);
server processes are children that also exit when the harness dies, because
they watch their stdin.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .matrix import StoreSpec


def s3_key(*parts: str) -> str:
    """An S3 key prefix for a dataset: ids keep their slashes, odd characters become '_'."""
    return "/".join(re.sub(r"[^A-Za-z0-9._/-]", "_", p) for p in parts)


class Store:
    name: str
    kind: str

    def __init__(self, name: str, spec: StoreSpec):
        self.name, self.spec = name, spec

    @property
    def access_modes(self) -> list[str]:
        return list(self.spec.access)

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def version(self) -> str:
        return ""

    def publish(self, dataset: Path, key: str) -> None:
        """Make the dataset directory available under key."""

    def target(self, dataset: Path, key: str, access: str) -> dict:
        raise NotImplementedError


class LocalStore(Store):
    kind = "local"

    def target(self, dataset: Path, key: str, access: str) -> dict:
        return {"kind": "local", "path": str(dataset)}


_MOTO_CHILD = r"""
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
host, port = server.get_host_and_port()
print(port, flush=True)
sys.stdin.read()  # returns when the harness closes the pipe or dies
server.stop()
"""


class MotoS3Store(Store):
    """moto's S3 server in a child Python process of the harness (nothing to install)."""

    kind = "s3-moto"
    bucket = "zarr-conformance"
    region = "us-east-1"

    def __init__(self, name: str, spec: StoreSpec):
        super().__init__(name, spec)
        self.proc: subprocess.Popen | None = None
        self.endpoint = ""
        self.access_key = "AK" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(24)
        self._client = None

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", _MOTO_CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            self.stop()
            raise RuntimeError("moto's server did not start")
        self.endpoint = f"http://127.0.0.1:{line}"
        self._wait_ready()
        self.client().create_bucket(Bucket=self.bucket)

    def _wait_ready(self, timeout: float = 30) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=2).read()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto's server at {self.endpoint} is not ready") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def version(self) -> str:
        import moto

        return f"moto {moto.__version__}"

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint, region_name=self.region,
                aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                config=Config(s3={"addressing_style": "path"}, max_pool_connections=16,
                              retries={"max_attempts": 3}))
        return self._client

    def publish(self, dataset: Path, key: str) -> None:
        files = [p for p in dataset.rglob("*") if p.is_file()]
        client = self.client()

        def put(p: Path) -> None:
            client.put_object(Bucket=self.bucket, Key=f"{key}/{p.relative_to(dataset).as_posix()}", Body=p.read_bytes())

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, files))

    def target(self, dataset: Path, key: str, access: str) -> dict:
        return {"kind": "s3", "bucket": self.bucket, "key": key, "endpoint": self.endpoint,
                "region": self.region, "anonymous": access != "signed",
                "access_key_id": self.access_key, "secret_access_key": self.secret_key}


KINDS = {"local": LocalStore, "s3-moto": MotoS3Store}


def make_store(name: str, spec: StoreSpec) -> Store:
    return KINDS[spec.kind](name, spec)
