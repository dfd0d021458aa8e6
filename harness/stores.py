"""Store backends: where datasets are published and read from.

Each backend owns its endpoint: it starts it (random loopback port, random
credentials), publishes datasets into it and describes a dataset to readers
as a protocol STORE object. Endpoint processes are children of the harness
that exit when it does (they watch their stdin; MinIO also gets a death
signal), and `stop()` is guaranteed by the run, also on Ctrl-C.

S3 access modes are buckets with bucket policies:

* signed: a private bucket; readers get credentials.
* anonymous: public read (GetObject and ListBucket for everyone).
* anonymous-nolist: GetObject for everyone, no ListBucket. AWS then answers
  403 for a missing key; servers that answer 404 are reported as such.
* forbidden-chunk: public read, but one existing chunk of each dataset is
  denied. A reader must fail; returning the fill value there is a mismatch.
* presigned: a private bucket, and readers get no credentials: only a
  presigned URL of a kerchunk reference file that maps every key of the
  dataset to its own presigned URL (harness/kerchunk.py presigned_refs).

The GCS emulator (fake-gcs-server) checks no credentials: a bucket per access
mode all the same, readers get a token or none, the server answers both alike
(the measured table says so). The Azure Blob emulator (Azurite) checks Shared
Key signatures; its access modes are containers with public access levels:
signed (private), anonymous ("container": read and list for everyone) and
anonymous-nolist ("blob": read, no list). Azure has no per-blob deny, so no
forbidden-chunk there.

What each server really answers in each mode is probed at start
(`semantics`), recorded in run.json and shown in the report; a mode a server
cannot produce is reported as not available rather than pretended.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .environments import tools_root
from .matrix import StoreSpec

METADATA_FILES = {".zarray", ".zattrs", ".zgroup", ".zmetadata", "zarr.json", "attributes.json"}


class StoreUnavailable(Exception):
    """The endpoint cannot run here; the message says why."""


def s3_key(*parts: str) -> str:
    """An S3 key prefix for a dataset: ids keep their slashes, odd characters become '_'."""
    return "/".join(re.sub(r"[^A-Za-z0-9._/-]", "_", p) for p in parts)


class ServerProcess:
    """A `python -m harness.servers.X` child that prints its port, and stops when its stdin closes."""

    def __init__(self, module: str, *args: str, env: dict | None = None, what: str = ""):
        self.what = what or module
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        line = self.proc.stdout.readline().decode().strip()
        if not line.isdigit():
            err = self.proc.stderr.read().decode(errors="replace")[-500:] if self.proc.poll() is not None else ""
            self.stop()
            raise StoreUnavailable(f"{self.what} did not start: {err.strip() or 'no port printed'}")
        self.port = int(line)
        # Drain stderr so a chatty server never blocks on a full pipe.
        threading.Thread(target=lambda: self.proc.stderr.read(), daemon=True).start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=15)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


class Store:
    kind = "?"

    def __init__(self, name: str, spec: StoreSpec):
        self.name, self.spec = name, spec
        self.semantics: dict[str, dict] = {}  # access mode -> what the server answers
        self.unavailable_modes: dict[str, str] = {}

    @property
    def access_modes(self) -> list[str]:
        return [m for m in self.spec.access if m not in self.unavailable_modes]

    def start(self, workdir: Path) -> None:
        pass

    def stop(self) -> None:
        pass

    def version(self) -> str:
        return ""

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        """Make the dataset directory available under key in one access mode."""

    def finish_publishing(self) -> None:
        """Called once every dataset is published (policies naming keys are set here)."""

    def target(self, dataset: Path, key: str, access: str) -> dict:
        raise NotImplementedError

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        """The object `rel` of the dataset published under key, read back the way the harness wrote it
        (with the store's own credentials): the HTTP status and the body (harness/store_check.py)."""
        raise NotImplementedError


def _get(url: str, headers: dict | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError as e:  # refused, reset, timed out: no status at all
        return 0, str(e).encode()


class LocalStore(Store):
    kind = "local"

    def target(self, dataset: Path, key: str, access: str) -> dict:
        return {"kind": "local", "path": str(dataset)}


class HttpStore(Store):
    """A static HTTP server (Range support) over symlinks to the published datasets."""

    kind = "http"

    def start(self, workdir: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="zc-http-", dir=workdir))
        self.server = ServerProcess("harness.servers.http_server", str(self.root), what="the HTTP server")
        self.base = f"http://127.0.0.1:{self.server.port}"

    def stop(self) -> None:
        if getattr(self, "server", None):
            self.server.stop()
            self.server = None
        if getattr(self, "root", None):
            shutil.rmtree(self.root, ignore_errors=True)

    def version(self) -> str:
        from importlib.metadata import version

        return f"werkzeug {version('werkzeug')}"

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        link = self.root / key
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(dataset.resolve(), target_is_directory=True)

    def target(self, dataset: Path, key: str, access: str) -> dict:
        return {"kind": "http", "url": f"{self.base}/{key}"}

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        from urllib.parse import quote

        return _get(f"{self.base}/{quote(key)}/{quote(rel)}")


def _policy(bucket: str, mode: str, deny: list[str], get_actions=("s3:GetObject",)) -> dict | None:
    anyone = {"AWS": ["*"]}
    objects = f"arn:aws:s3:::{bucket}/*"
    if mode in ("signed", "presigned"):  # private: credentials, or URLs signed with them
        return None
    statements = [{"Sid": "PublicGet", "Effect": "Allow", "Principal": anyone, "Action": list(get_actions),
                   "Resource": [objects]}]
    if mode in ("anonymous", "forbidden-chunk"):
        statements.append({"Sid": "PublicList", "Effect": "Allow", "Principal": anyone, "Action": ["s3:ListBucket"],
                           "Resource": [f"arn:aws:s3:::{bucket}"]})
    if mode == "forbidden-chunk" and deny:
        statements.append({"Sid": "DenyOneChunk", "Effect": "Deny", "Principal": anyone, "Action": list(get_actions),
                           "Resource": [f"arn:aws:s3:::{bucket}/{k}" for k in sorted(set(deny))]})
    return {"Version": "2012-10-17", "Statement": statements}


class S3Store(Store):
    """An S3 endpoint with the buckets of each access mode."""

    region = "us-east-1"
    probe_prefix = "zc-probe"
    # IAM actions that a GET and a HEAD of an object need on this server (AWS: s3:GetObject for both).
    get_actions: tuple[str, ...] = ("s3:GetObject",)

    # How long the presigned URLs of the presigned mode are valid: longer than any run.
    presign_expires = 24 * 3600

    def __init__(self, name: str, spec: StoreSpec):
        super().__init__(name, spec)
        self.endpoint = ""
        self._presigned_refs: dict[str, str] = {}
        self.access_key = "AK" + secrets.token_hex(8).upper()
        self.secret_key = secrets.token_urlsafe(24)
        self._client = None
        self._deny: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    # The datasets of an access mode are spread over this many buckets, by key. moto answers a list
    # request by scanning every key of the bucket (bench/s3_cell_cost.py: among the keys of a default
    # run in one bucket, a read that lists took three times as long), and readers list on missing chunks;
    # and forbidden-chunk denies one object per dataset: one policy naming them all outgrows what servers
    # accept (MinIO answers PolicyTooLarge).
    shards = 32

    def bucket(self, access: str, key: str | None = None) -> str:
        """The bucket of the dataset at key in an access mode (the probes use the first)."""
        shard = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % self.shards if key else 0
        return f"zc-{access}-{shard:02d}"

    def buckets(self, access: str) -> list[str]:
        return [f"zc-{access}-{i:02d}" for i in range(self.shards)]

    def client(self):
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "s3", endpoint_url=self.endpoint, region_name=self.region,
                aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                config=Config(s3={"addressing_style": "path"}, signature_version="s3v4", max_pool_connections=16,
                              retries={"max_attempts": 3}))
        return self._client

    def _make_buckets(self) -> None:
        c = self.client()
        for mode in self.spec.access:
            for bucket in self.buckets(mode):
                c.create_bucket(Bucket=bucket)
            probes = self.bucket(mode)
            c.put_object(Bucket=probes, Key=f"{self.probe_prefix}/exists", Body=b"0123456789" * 10)
            c.put_object(Bucket=probes, Key=f"{self.probe_prefix}/denied", Body=b"secret")
            self._deny[probes] = [f"{self.probe_prefix}/denied"]
            self._set_policy(mode)
        self.probe()

    def _set_policy(self, mode: str) -> None:
        for bucket in self.buckets(mode):
            policy = _policy(bucket, mode, self._deny.get(bucket, []), self.get_actions)
            if policy:
                self.client().put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))

    def probe(self) -> None:
        """Measure what anonymous requests get in each mode; drop modes the server cannot produce."""
        for mode in self.spec.access:
            b = self.bucket(mode)
            anon = mode != "signed"
            sem = {
                "existing": http_status(self.endpoint, b, f"{self.probe_prefix}/exists", anonymous=anon, store=self),
                "missing": http_status(self.endpoint, b, f"{self.probe_prefix}/missing", anonymous=anon, store=self),
                "denied": http_status(self.endpoint, b, f"{self.probe_prefix}/denied", anonymous=anon, store=self),
            }
            self.semantics[mode] = sem
            if sem["existing"] != 200 and mode != "presigned":
                self.unavailable_modes[mode] = f"existing keys answer {sem['existing']}, not 200"
            elif mode == "forbidden-chunk" and sem["denied"] != 403:
                self.unavailable_modes[mode] = f"a denied key answers {sem['denied']}, not 403: the server ignores the Deny"
            elif mode == "anonymous-nolist" and sem["missing"] != 403:
                sem["note"] = f"missing keys answer {sem['missing']} (AWS answers 403 without ListBucket)"
            if mode == "presigned":
                sem.update(self._probe_presigned(b))
                if sem["presigned"] != 200:
                    self.unavailable_modes[mode] = f"a presigned URL of an existing key answers {sem['presigned']}, not 200"
                elif sem["existing"] == 200 or sem["tampered"] == 200:
                    # Readers would read without honouring the URLs: the mode would prove nothing.
                    self.unavailable_modes[mode] = ("the server does not check presigned URLs (an unsigned request answers "
                                                    f"{sem['existing']}, a tampered signature {sem['tampered']})")

    def presign(self, bucket: str, key: str) -> str:
        return self.client().generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key},
                                                    ExpiresIn=self.presign_expires)

    def _probe_presigned(self, bucket: str) -> dict:
        url = self.presign(bucket, f"{self.probe_prefix}/exists")
        # The same URL with the last hex digit of its signature (signature version 4) changed.
        tampered = re.sub(r"(X-Amz-Signature=[0-9a-f]*)([0-9a-f])", lambda m: m.group(1) + ("0" if m.group(2) != "0" else "1"), url)
        return {"presigned": _get(url)[0], "tampered": _get(tampered)[0]}

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        files = [p for p in dataset.rglob("*") if p.is_file()]
        client = self.client()
        bucket = self.bucket(access, key)

        def put(p: Path) -> None:
            client.put_object(Bucket=bucket, Key=f"{key}/{p.relative_to(dataset).as_posix()}", Body=p.read_bytes())

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, files))
        if deny:
            with self._lock:
                self._deny.setdefault(bucket, []).append(f"{key}/{deny}")
        if access == "presigned":
            self._publish_presigned_refs(dataset, key, bucket)

    def _publish_presigned_refs(self, dataset: Path, key: str, bucket: str) -> None:
        """The reference file of the presigned mode, itself in the bucket: every key of the dataset to a
        presigned URL of its object; readers get a presigned URL of this file."""
        from .kerchunk import presigned_refs

        rels = [p.relative_to(dataset).as_posix() for p in dataset.rglob("*") if p.is_file()]
        doc = presigned_refs({rel: self.presign(bucket, f"{key}/{rel}") for rel in rels})
        refs_key = f"zc-presigned-refs/{key}.json"
        self.client().put_object(Bucket=bucket, Key=refs_key, Body=json.dumps(doc, separators=(",", ":")).encode())
        with self._lock:
            self._presigned_refs[key] = self.presign(bucket, refs_key)

    def finish_publishing(self) -> None:
        if "forbidden-chunk" in self.access_modes:
            try:
                self._set_policy("forbidden-chunk")
            except Exception as exc:  # e.g. a policy larger than the server accepts
                self.unavailable_modes["forbidden-chunk"] = f"the deny policy was refused: {exc}"

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return 200, self.client().get_object(Bucket=self.bucket(access, key), Key=f"{key}/{rel}")["Body"].read()
        except ClientError as exc:
            return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0), str(exc).encode()
        except BotoCoreError as exc:
            return 0, str(exc).encode()

    def target(self, dataset: Path, key: str, access: str) -> dict:
        if access == "presigned":  # URLs only: no endpoint, bucket or credentials
            return {"kind": "kerchunk", "refs": self._presigned_refs[key], "remote": {"kind": "http"}}
        return {"kind": "s3", "bucket": self.bucket(access, key), "key": key, "endpoint": self.endpoint,
                "region": self.region, "anonymous": access != "signed",
                "access_key_id": self.access_key, "secret_access_key": self.secret_key}


class MotoS3Store(S3Store):
    """moto's S3 server in a child process of the harness (nothing to install)."""

    kind = "s3-moto"
    # moto checks HEAD against a pseudo-action s3:HeadObject (AWS checks s3:GetObject):
    # without it anonymous HEADs get 403 where AWS answers 200.
    get_actions = ("s3:GetObject", "s3:HeadObject")
    # The HTTP server moto's application runs on (harness/servers/moto_server.py SERVERS).
    http_server = "cheroot"

    def start(self, workdir: Path) -> None:
        self.server = ServerProcess("harness.servers.moto_server", "--server", self.http_server,
                                    what="moto's S3 server")
        self.endpoint = f"http://127.0.0.1:{self.server.port}"
        self._make_buckets()

    def stop(self) -> None:
        if getattr(self, "server", None):
            self.server.stop()
            self.server = None

    def version(self) -> str:
        import moto

        return f"moto {moto.__version__}"


def minio_binary(version: str | None) -> Path | None:
    if not version:
        return None
    p = tools_root() / "minio" / version / "minio"
    return p if p.exists() else None


class MinioS3Store(S3Store):
    """A real MinIO server process, built by scripts/install-minio.sh at the pinned version."""

    kind = "s3-minio"
    minio_version: str | None = None

    def start(self, workdir: Path) -> None:
        binary = minio_binary(self.minio_version)
        if binary is None:
            raise StoreUnavailable(f"MinIO {self.minio_version or '(no minio_version in matrix.yaml)'} is not installed;"
                                   " run scripts/install-minio.sh (needs Go) to build it")
        self.data = Path(tempfile.mkdtemp(prefix="zc-minio-", dir=workdir))
        self.server = ServerProcess("harness.servers.minio_server", str(binary), str(self.data), what="MinIO",
                                    env={"MINIO_ROOT_USER": self.access_key, "MINIO_ROOT_PASSWORD": self.secret_key})
        self.endpoint = f"http://127.0.0.1:{self.server.port}"
        self._binary = binary
        self._make_buckets()

    def stop(self) -> None:
        if getattr(self, "server", None):
            self.server.stop()
            self.server = None
        if getattr(self, "data", None):
            shutil.rmtree(self.data, ignore_errors=True)

    def version(self) -> str:
        # A `go install` build calls itself DEVELOPMENT.GOGET: the pin is the version.
        return f"minio {self.minio_version}"


# --- other clouds: Google Cloud Storage (fake-gcs-server) and Azure Blob (Azurite) ---------------------

def _status(url: str, method: str = "GET", headers: dict | None = None, data: bytes | None = None) -> int:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=headers or {}, data=data),
                                    timeout=10) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def tool_binary(tool: str, version: str | None) -> Path | None:
    if not version:
        return None
    p = tools_root() / tool / version / tool
    return p if p.exists() else None


class GcsStore(Store):
    """fake-gcs-server, built by scripts/install-fake-gcs.sh at the pinned version: one bucket per access
    mode. It checks no credentials, so `signed` and `anonymous` differ only in what readers send."""

    kind = "gcs"
    fake_gcs_version: str | None = None
    probe_prefix = "zc-probe"

    def __init__(self, name: str, spec: StoreSpec):
        super().__init__(name, spec)
        self.endpoint = ""
        self.token = "ya29.zc-" + secrets.token_urlsafe(24)  # an OAuth2 bearer token in form; never checked
        self.project = "zc-" + secrets.token_hex(4)

    def bucket(self, access: str, key: str | None = None) -> str:
        return f"zc-{access}"

    def start(self, workdir: Path) -> None:
        binary = tool_binary("fake-gcs-server", self.fake_gcs_version)
        if binary is None:
            raise StoreUnavailable(f"fake-gcs-server {self.fake_gcs_version or '(no fake_gcs_version in matrix.yaml)'}"
                                   " is not installed; run scripts/install-fake-gcs.sh (needs Go) to build it")
        self.server = ServerProcess("harness.servers.gcs_server", str(binary), what="fake-gcs-server")
        self.endpoint = f"http://127.0.0.1:{self.server.port}"
        for mode in self.spec.access:
            b = self.bucket(mode)
            st = _status(f"{self.endpoint}/storage/v1/b?project={self.project}", "POST",
                         {"Content-Type": "application/json", **self.auth()}, json.dumps({"name": b}).encode())
            if st not in (200, 409):
                raise StoreUnavailable(f"fake-gcs-server refused to create bucket {b}: HTTP {st}")
            self.put(b, f"{self.probe_prefix}/exists", b"0123456789" * 10)
        self.probe()

    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    def put(self, bucket: str, key: str, body: bytes) -> None:
        from urllib.parse import quote

        url = f"{self.endpoint}/upload/storage/v1/b/{bucket}/o?uploadType=media&name={quote(key, safe='')}"
        st = _status(url, "POST", {"Content-Type": "application/octet-stream", **self.auth()}, body)
        if st != 200:
            raise OSError(f"fake-gcs-server: upload of {bucket}/{key} answered HTTP {st}")

    def object_url(self, bucket: str, key: str, api: str = "json") -> str:
        from urllib.parse import quote

        if api == "json":
            return f"{self.endpoint}/storage/v1/b/{bucket}/o/{quote(key, safe='')}?alt=media"
        return f"{self.endpoint}/{bucket}/{quote(key)}"

    def request(self, mode: str, key: str, signed: bool, method: str = "GET", headers: dict | None = None,
                api: str = "json") -> int:
        hdrs = {**(headers or {}), **(self.auth() if signed else {})}
        return _status(self.object_url(self.bucket(mode), key, api), method, hdrs)

    def list_status(self, mode: str, signed: bool) -> int:
        return _status(f"{self.endpoint}/storage/v1/b/{self.bucket(mode)}/o?prefix={self.probe_prefix}/",
                       headers=self.auth() if signed else {})

    def probe(self) -> None:
        for mode in self.spec.access:
            signed = mode == "signed"
            self.semantics[mode] = {
                "existing": self.request(mode, f"{self.probe_prefix}/exists", signed),
                "missing": self.request(mode, f"{self.probe_prefix}/missing", signed),
                "note": "fake-gcs-server checks no credentials: an unsigned request reads a private bucket",
            }
            if self.semantics[mode]["existing"] != 200:
                self.unavailable_modes[mode] = f"existing keys answer {self.semantics[mode]['existing']}, not 200"

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        files = [p for p in dataset.rglob("*") if p.is_file()]
        bucket = self.bucket(access)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda p: self.put(bucket, f"{key}/{p.relative_to(dataset).as_posix()}", p.read_bytes()),
                          files))

    def stop(self) -> None:
        if getattr(self, "server", None):
            self.server.stop()
            self.server = None

    def version(self) -> str:
        return f"fake-gcs-server {self.fake_gcs_version}"

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        return _get(self.object_url(self.bucket(access), f"{key}/{rel}"), self.auth())

    def target(self, dataset: Path, key: str, access: str) -> dict:
        t = {"kind": "gcs", "endpoint": self.endpoint, "bucket": self.bucket(access), "prefix": key,
             "anonymous": access != "signed", "project": self.project}
        if access == "signed":
            t["token"] = self.token
        return t


AZURITE_DIR = Path(__file__).resolve().parent / "servers" / "azurite"
AZURE_API_VERSION = "2021-08-06"


def azurite_script() -> Path | None:
    p = AZURITE_DIR / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
    return p if p.exists() else None


def azurite_version() -> str:
    try:
        return json.loads((AZURITE_DIR / "node_modules" / "azurite" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "?"


def shared_key_headers(account: str, key: str, method: str, url: str, headers: dict) -> dict:
    """Headers of a request signed with an Azure Storage account key (the Shared Key scheme)."""
    import base64
    import hmac
    from email.utils import formatdate
    from urllib.parse import parse_qsl, urlsplit

    h = {k: v for k, v in headers.items()}
    h["x-ms-date"] = formatdate(usegmt=True)
    h["x-ms-version"] = AZURE_API_VERSION
    low = {k.lower(): v for k, v in h.items()}
    parts = urlsplit(url)
    std = ["content-encoding", "content-language", "content-length", "content-md5", "content-type", "date",
           "if-modified-since", "if-match", "if-none-match", "if-unmodified-since", "range"]
    lines = [method] + [("" if k == "content-length" and low.get(k) in (None, "0") else low.get(k, "")) for k in std]
    canon_headers = "".join(f"{k}:{low[k].strip()}\n" for k in sorted(low) if k.startswith("x-ms-"))
    resource = f"/{account}{parts.path}"  # the path as sent (encoded)
    for name, value in sorted((k.lower(), v) for k, v in parse_qsl(parts.query, keep_blank_values=True)):
        resource += f"\n{name}:{value}"
    to_sign = "\n".join(lines) + "\n" + canon_headers + resource
    sig = base64.b64encode(hmac.new(base64.b64decode(key), to_sign.encode(), hashlib.sha256).digest()).decode()
    h["Authorization"] = f"SharedKey {account}:{sig}"
    return h


class AzureStore(Store):
    """Azurite's Blob service (npm, pinned in harness/servers/azurite), with a random account name and key.
    Access modes are containers with public access levels: private, "container" and "blob"."""

    kind = "azure"
    probe_prefix = "zc-probe"
    PUBLIC = {"signed": None, "anonymous": "container", "anonymous-nolist": "blob"}

    def __init__(self, name: str, spec: StoreSpec):
        super().__init__(name, spec)
        import base64

        self.account = "zc" + secrets.token_hex(6)
        self.key = base64.b64encode(secrets.token_bytes(64)).decode()
        self.endpoint = ""
        self._service = None

    def container(self, access: str) -> str:
        return f"zc-{access}"

    @property
    def connection_string(self) -> str:
        return (f"DefaultEndpointsProtocol=http;AccountName={self.account};AccountKey={self.key};"
                f"BlobEndpoint={self.endpoint};")

    def service(self):
        if self._service is None:
            from azure.storage.blob import BlobServiceClient

            self._service = BlobServiceClient.from_connection_string(self.connection_string)
        return self._service

    def start(self, workdir: Path) -> None:
        script, node = azurite_script(), shutil.which("node")
        if script is None or node is None:
            raise StoreUnavailable("Azurite is not installed; run scripts/install-azurite.sh (needs Node.js and npm)")
        self.server = ServerProcess("harness.servers.azurite_server", node, str(script),
                                    what="Azurite", env={"AZURITE_ACCOUNTS": f"{self.account}:{self.key}"})
        self.endpoint = f"http://127.0.0.1:{self.server.port}/{self.account}"
        for mode in self.spec.access:
            if mode not in self.PUBLIC:
                self.unavailable_modes[mode] = "Azure Blob has no per-blob deny for anonymous readers"
                continue
            c = self.service().create_container(self.container(mode), public_access=self.PUBLIC[mode])
            c.upload_blob(f"{self.probe_prefix}/exists", b"0123456789" * 10, overwrite=True)
        self.probe()

    def request(self, mode: str, key: str, signed: bool, method: str = "GET", headers: dict | None = None) -> int:
        from urllib.parse import quote

        url = f"{self.endpoint}/{self.container(mode)}/{quote(key)}"
        hdrs = shared_key_headers(self.account, self.key, method, url, headers or {}) if signed else \
            {"x-ms-version": AZURE_API_VERSION, **(headers or {})}
        return _status(url, method, hdrs)

    def list_status(self, mode: str, signed: bool) -> int:
        url = f"{self.endpoint}/{self.container(mode)}?comp=list&restype=container"
        hdrs = shared_key_headers(self.account, self.key, "GET", url, {}) if signed else \
            {"x-ms-version": AZURE_API_VERSION}
        return _status(url, "GET", hdrs)

    def probe(self) -> None:
        for mode in self.spec.access:
            if mode in self.unavailable_modes:
                continue
            signed = mode == "signed"
            sem = {"existing": self.request(mode, f"{self.probe_prefix}/exists", signed),
                   "missing": self.request(mode, f"{self.probe_prefix}/missing", signed)}
            sem["list"] = self.list_status(mode, signed)
            self.semantics[mode] = sem
            if sem["existing"] != 200:
                self.unavailable_modes[mode] = f"existing keys answer {sem['existing']}, not 200"

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        files = [p for p in dataset.rglob("*") if p.is_file()]
        container = self.service().get_container_client(self.container(access))

        def put(p: Path) -> None:
            container.upload_blob(f"{key}/{p.relative_to(dataset).as_posix()}", p.read_bytes(), overwrite=True)

        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, files))

    def stop(self) -> None:
        if getattr(self, "server", None):
            self.server.stop()
            self.server = None

    def version(self) -> str:
        return f"azurite {azurite_version()}"

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        from urllib.parse import quote

        url = f"{self.endpoint}/{self.container(access)}/{quote(f'{key}/{rel}')}"
        return _get(url, shared_key_headers(self.account, self.key, "GET", url, {}))

    def target(self, dataset: Path, key: str, access: str) -> dict:
        return {"kind": "azure", "endpoint": self.endpoint, "account": self.account, "key": self.key,
                "container": self.container(access), "prefix": key, "anonymous": access != "signed"}


def http_status(endpoint: str, bucket: str, key: str, anonymous: bool, store: S3Store | None = None,
                method: str = "GET", headers: dict | None = None) -> int:
    """The status code of one request, unsigned (anonymous) or signed with the store's keys."""
    url = f"{endpoint}/{bucket}/{key}"
    hdrs = dict(headers or {})
    if not anonymous and store is not None:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        req = AWSRequest(method=method, url=url, headers=hdrs)
        SigV4Auth(Credentials(store.access_key, store.secret_key), "s3", store.region).add_auth(req)
        hdrs = dict(req.headers.items())
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method=method, headers=hdrs), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


# The requests of the store-behaviour table (docs/stores.md): label -> (method, key, headers).
PROBES = {
    "GET existing": ("GET", "exists", {}),
    "GET missing": ("GET", "missing", {}),
    "GET denied": ("GET", "denied", {}),
    "HEAD existing": ("HEAD", "exists", {}),
    "HEAD missing": ("HEAD", "missing", {}),
    "HEAD denied": ("HEAD", "denied", {}),
    "GET range 0-9": ("GET", "exists", {"Range": "bytes=0-9"}),
    "GET suffix range -10": ("GET", "exists", {"Range": "bytes=-10"}),
    "GET multi-range 0-1,4-5": ("GET", "exists", {"Range": "bytes=0-1,4-5"}),
    "GET range past the end": ("GET", "exists", {"Range": "bytes=1000-1010"}),
}


def measure(store: Store) -> dict:
    """What the endpoint answers, per access mode and credentials, to each probe request."""
    out = {}
    if isinstance(store, S3Store):
        for mode in store.spec.access:
            for creds in ("signed", "anonymous"):
                col = out.setdefault(f"{mode} / {creds} request", {})
                for label, (method, key, headers) in PROBES.items():
                    col[label] = http_status(store.endpoint, store.bucket(mode), f"{store.probe_prefix}/{key}",
                                             anonymous=creds == "anonymous", store=store, method=method, headers=headers)
    elif isinstance(store, GcsStore):
        for mode in store.spec.access:
            for creds in ("signed", "anonymous"):
                for api in ("json", "xml"):
                    col = out.setdefault(f"{mode} / {creds} request, {api.upper()} API", {})
                    for label, (method, key, headers) in PROBES.items():
                        if key == "denied":
                            continue
                        col[label] = store.request(mode, f"{store.probe_prefix}/{key}", creds == "signed", method,
                                                   headers, api)
                    col["LIST bucket"] = store.list_status(mode, creds == "signed")
    elif isinstance(store, AzureStore):
        for mode in store.access_modes:
            for creds in ("signed", "anonymous"):
                col = out.setdefault(f"{mode} / {creds} request", {})
                for label, (method, key, headers) in PROBES.items():
                    if key == "denied":
                        continue
                    col[label] = store.request(mode, f"{store.probe_prefix}/{key}", creds == "signed", method, headers)
                col["LIST container"] = store.list_status(mode, creds == "signed")
    elif isinstance(store, HttpStore):
        probe = store.root / "zc-probe"
        probe.mkdir(exist_ok=True)
        (probe / "exists").write_bytes(b"0123456789" * 10)
        col = out.setdefault("public", {})
        for label, (method, key, headers) in PROBES.items():
            if key == "denied":
                continue
            col[label] = http_status(store.base, "zc-probe", key, anonymous=True, method=method, headers=headers)
    return out


class KerchunkStore(Store):
    """Each dataset as a kerchunk reference file over one packed file of its chunks (harness/kerchunk.py).
    The packed files (and the reference files beside them) are on local disk, or published into the
    store of kind `remote` (the HTTP server, moto's S3) that this store starts and stops with itself.
    Access modes are the reference file's formats; a dataset is packed once for all of them."""

    kind = "kerchunk"

    def __init__(self, name: str, spec: StoreSpec):
        super().__init__(name, spec)
        self.remote: Store | None = None
        self._refs: dict[str, dict] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def start(self, workdir: Path) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="zc-refs-", dir=workdir))
        if self.spec.remote != "local":
            self.remote = KINDS[self.spec.remote](f"{self.name} ({self.spec.remote})",
                                                  StoreSpec(kind=self.spec.remote, access=["signed"]))
            self.remote.start(workdir)

    def stop(self) -> None:
        if self.remote is not None:
            self.remote.stop()
        if getattr(self, "root", None):
            shutil.rmtree(self.root, ignore_errors=True)

    def version(self) -> str:
        served = f"; files on {self.remote.version()}" if self.remote else "; files on local disk"
        return "kerchunk JSON references (version 1, with and without templates, and 0)" + served

    def location(self, key: str, name: str) -> str:
        """Where a reader finds the file `name` of a packed dataset: a path, an http:// or an s3:// URL."""
        from urllib.parse import quote

        if isinstance(self.remote, HttpStore):
            return f"{self.remote.base}/{quote(key)}/{name}"
        if isinstance(self.remote, S3Store):
            return f"s3://{self.remote.bucket('signed', key)}/{key}/{name}"
        return str(self.root / key / name)

    def publish(self, dataset: Path, key: str, access: str, deny: str | None = None) -> None:
        from .kerchunk import PACKED, REFERENCE_FILES, SOURCE_REFS, pack, relocated, write_reference_file

        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key in self._refs:
                return
            out = self.root / key
            if (dataset / SOURCE_REFS).exists():
                # References a writer made into its own source file: published as they are, the file
                # beside them, its name in every reference replaced by where a reader finds it.
                out.mkdir(parents=True, exist_ok=True)
                names = {p.name for p in dataset.iterdir() if p.is_file() and p.name != SOURCE_REFS}
                for name in names:
                    shutil.copyfile(dataset / name, out / name)
                doc = relocated(json.loads((dataset / SOURCE_REFS).read_text()),
                                {name: self.location(key, name) for name in names})
                (out / REFERENCE_FILES["kerchunk-v1"]).write_text(json.dumps(doc))
                refs = {}
            else:
                refs = pack(dataset, out)
                for mode in REFERENCE_FILES:
                    write_reference_file(refs, self.location(key, PACKED), mode, out)
            if self.remote is not None:
                self.remote.publish(out, key, "signed")
            self._refs[key] = refs

    def target(self, dataset: Path, key: str, access: str) -> dict:
        from .kerchunk import REFERENCE_FILES

        packed = self.root / key
        remote = self.remote.target(packed, key, "signed") if self.remote else {"kind": "local", "path": str(packed)}
        return {"kind": "kerchunk", "refs": self.location(key, REFERENCE_FILES[access]), "remote": remote}

    def fetch(self, key: str, rel: str, access: str) -> tuple[int, bytes]:
        """The bytes the published reference file gives for rel, read from where a reader reads them."""
        from .kerchunk import REFERENCE_FILES, resolve

        name = REFERENCE_FILES[access]
        status, body = self.remote.fetch(key, name, "signed") if self.remote else (200, (self.root / key / name).read_bytes())
        if status != 200:
            return status, body
        blobs: dict[str, tuple[int, bytes]] = {}

        def read_range(url: str, offset: int, length: int | None) -> bytes:
            if url not in blobs:
                packed = url.rsplit("/", 1)[-1]
                blobs[url] = self.remote.fetch(key, packed, "signed") if self.remote else (200, Path(url).read_bytes())
            st, blob = blobs[url]
            if st != 200:
                raise OSError(f"HTTP {st} for {url}")
            return blob[offset:] if length is None else blob[offset:offset + length]

        try:
            data = resolve(json.loads(body), rel, read_range)
        except (OSError, ValueError, KeyError) as exc:
            return 0, str(exc).encode()
        return (404, b"not in the reference file") if data is None else (200, data)


def first_chunk_key(dataset: Path, case) -> str | None:
    """An existing chunk (or shard) object of the array, relative to the dataset root, for forbidden-chunk: of a
    partial-read case one the region touches (a reader that rightly never asks for an object outside its region
    must meet the denied one)."""
    base = dataset / case.path
    if not base.exists():
        return None
    if case.region:
        from .dataset_check import chunk_key

        meta = json.loads((base / ".zarray").read_text()) if case.format == "zarr2" else None
        stored = (base / chunk_key(case, idx, meta) for idx in case.region_chunks)
        return next((p.relative_to(dataset).as_posix() for p in stored if p.is_file()), None)
    files = sorted(p for p in base.rglob("*") if p.is_file() and p.name not in METADATA_FILES)
    return files[0].relative_to(dataset).as_posix() if files else None


KINDS = {"local": LocalStore, "http": HttpStore, "s3-moto": MotoS3Store, "s3-minio": MinioS3Store,
         "gcs": GcsStore, "azure": AzureStore, "kerchunk": KerchunkStore}


def make_store(name: str, spec: StoreSpec, minio_version: str | None = None, fake_gcs_version: str | None = None) -> Store:
    store = KINDS[spec.kind](name, spec)
    if isinstance(store, MinioS3Store):
        store.minio_version = minio_version
    if isinstance(store, GcsStore):
        store.fake_gcs_version = fake_gcs_version
    return store


class StoreSet:
    """The endpoints of a plan: started together, recorded in run.json, always stopped together."""

    def __init__(self, plan_stores: dict[str, list[str]], specs: dict[str, StoreSpec], minio_version: str | None,
                 log=print, fake_gcs_version: str | None = None):
        self.wanted, self.specs, self.minio_version, self.log = plan_stores, specs, minio_version, log
        self.fake_gcs_version = fake_gcs_version
        self.stores: dict[str, Store] = {}
        self.info: dict[str, dict] = {}
        self.not_available: dict[str, str] = {}

    def start(self, workdir: Path | None = None) -> None:
        for name, modes in self.wanted.items():
            spec = self.specs[name].model_copy(update={"access": modes})
            store = make_store(name, spec, self.minio_version, self.fake_gcs_version)
            try:
                store.start(workdir or Path(tempfile.gettempdir()))
            except Exception as exc:  # an endpoint that cannot start: say so, go on without it
                why = str(exc) if isinstance(exc, StoreUnavailable) else f"{type(exc).__name__}: {exc}"
                self.not_available[f"store:{name}"] = why
                self.log(f"[yellow]store {name} not available[/]: {why}")
                store.stop()
                continue
            self.stores[name] = store
            self.record(store)
            for mode, why in store.unavailable_modes.items():
                self.log(f"[yellow]{name} cannot produce access mode {mode}[/]: {why}")

    def record(self, store: Store) -> None:
        self.info[store.name] = {"kind": store.kind, "version": store.version(), "access": store.access_modes,
                                 "semantics": store.semantics, "unavailable_modes": store.unavailable_modes}

    def why_not(self, name: str, access: str) -> str | None:
        """Why cells of this store and access mode cannot be read in this run (None: they can)."""
        if name not in self.stores:
            return f"store {name} not available: {self.not_available.get('store:' + name, 'not started')}"
        store = self.stores[name]
        if access not in store.access_modes:
            return f"{name} cannot produce access mode {access}: {store.unavailable_modes.get(access, 'not configured')}"
        return None

    def stop(self) -> None:
        for s in self.stores.values():
            s.stop()
        self.stores = {}
