"""Presigned URLs at scale: a reference file that maps every key of an array to its presigned URL, for
10^4, 10^5 and 10^6 objects: its size, the time to make it, and the time to open the array through
it and read one chunk, in one run.

For each size N, a Zarr v2 array of N chunks (int16, one element a chunk, so that the chunk count is
the object count) is described by its .zarray and N chunk keys; every key gets a presigned GET URL
from boto3 (signature version 4, signed locally, as a data provider would hand them out) and the mapping is written as a
kerchunk version 1 reference file ({"version": 1, "refs": {key: [url]}}). Only the metadata and the
first chunks are put into moto's S3 server (the harness's store): a reader of one chunk asks for
nothing else. zarr-python 3.4.2 then opens the array through fsspec's ReferenceFileSystem over HTTP,
with no credentials, and reads one chunk (its own environment, as the harness runs it). moto does
not check the signatures of presigned URLs; AWS and MinIO do, which does not change what is
measured here.

    python bench/presigned_refs.py [--sizes 10000,100000,1000000] [--expires 3600]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.environments import setup  # noqa: E402
from harness.matrix import StoreSpec, load_matrix  # noqa: E402
from harness.stores import MotoS3Store  # noqa: E402

READER = "zarr-python@3.4.2"
READ_ONE_CHUNK = """
import json, sys, time
t0 = time.perf_counter()
import fsspec, zarr
from zarr.storage import FsspecStore
t1 = time.perf_counter()
fs = fsspec.filesystem("reference", fo=sys.argv[1], remote_protocol="http", asynchronous=True,
                       remote_options={"asynchronous": True})
store = FsspecStore(fs, read_only=True, path="")
arr = zarr.open_array(store=store, mode="r", zarr_format=2)
t2 = time.perf_counter()
value = arr[int(sys.argv[2])]
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "open_s": t2 - t1, "read_s": t3 - t2, "value": int(value), "shape": arr.shape}))
"""


def zarray(n: int) -> bytes:
    return json.dumps({"zarr_format": 2, "shape": [n], "chunks": [1], "dtype": "<i2", "compressor": None,
                       "fill_value": 0, "filters": None, "order": "C"}).encode()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="object counts, comma-separated")
    ap.add_argument("--expires", type=int, default=3600, help="seconds each presigned URL is valid")
    args = ap.parse_args()
    (iv,) = load_matrix().resolve_impls([READER], "reader")
    python = setup(iv, log=lambda *a: None).command[0]
    work = Path(tempfile.mkdtemp(prefix="zc-presigned-"))
    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["signed"]))
    store.start(work)
    rows = []
    try:
        import boto3
        from botocore.config import Config

        s3 = store.client()
        # Signature version 4, as AWS requires of presigned URLs in every region opened since 2014.
        signer = boto3.client("s3", endpoint_url=store.endpoint, region_name=store.region,
                              aws_access_key_id=store.access_key, aws_secret_access_key=store.secret_key,
                              config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
        for n in (int(x) for x in args.sizes.split(",")):
            key = f"presigned/{n}"
            bucket = store.bucket("signed", key)
            s3.put_object(Bucket=bucket, Key=f"{key}/.zarray", Body=zarray(n))
            read_at = n // 2  # a chunk in the middle of the mapping
            for i in (0, read_at):
                s3.put_object(Bucket=bucket, Key=f"{key}/{i}", Body=int(i % 30000).to_bytes(2, "little"))
            t0 = time.perf_counter()
            refs = {".zarray": zarray(n).decode()}  # small metadata is inlined, as kerchunk does
            for i in range(n):
                refs[str(i)] = [signer.generate_presigned_url("get_object", ExpiresIn=args.expires,
                                                              Params={"Bucket": bucket, "Key": f"{key}/{i}"})]
            signing = time.perf_counter() - t0
            path = work / f"refs-{n}.json"
            text = json.dumps({"version": 1, "refs": refs}, separators=(",", ":")).encode()
            path.write_bytes(text)
            proc = subprocess.run([python, "-c", READ_ONE_CHUNK, str(path), str(read_at)], capture_output=True,
                                  text=True, timeout=3600)
            if proc.returncode != 0:
                raise SystemExit(f"reading through the references of {n:,} objects failed:\n{proc.stderr[-2000:]}")
            got = json.loads(proc.stdout)
            assert got["value"] == read_at % 30000 and got["shape"] == [n], got
            rows.append((n, len(text), len(gzip.compress(text, 6)), len(text) / n, signing, got["open_s"], got["read_s"]))
            print(f"{n:>9,} objects: reference file {len(text) / 2**20:8.1f} MiB ({len(text) / n:5.0f} bytes a key, "
                  f"gzip {len(gzip.compress(text, 6)) / 2**20:6.1f} MiB), signing {signing:6.1f} s, "
                  f"open {got['open_s']:6.2f} s, one chunk {1000 * got['read_s']:7.1f} ms", flush=True)
    finally:
        store.stop()
    print("\n| objects | reference file | gzip | a key | signing | open | read one chunk |")
    print("|---|---|---|---|---|---|---|")
    for n, size, gz, per, signing, open_s, read_s in rows:
        print(f"| {n:,} | {size / 2**20:.1f} MiB | {gz / 2**20:.1f} MiB | {per:.0f} B | {signing:.1f} s | "
              f"{open_s:.2f} s | {1000 * read_s:.0f} ms |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
