"""What each endpoint answers (docs/stores.md), measured anew: a change of a
server's behaviour fails here. And endpoints never outlive the harness."""

import base64
import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from harness.docs import STORE_BEHAVIOUR, measure_stores
from harness.matrix import StoreSpec, load_matrix
from harness.stores import AzureStore, GcsStore, MotoS3Store, azurite_script, minio_binary, tool_binary
from conftest import CLI, ROOT

MINIO = minio_binary(load_matrix().minio_version)


def test_documented_answers_match_the_servers():
    recorded = json.loads(STORE_BEHAVIOUR.read_text())
    measured = measure_stores()
    for kind, info in measured.items():
        if "unavailable" in info:
            if kind in ("s3-minio", "gcs", "azure") and not os.environ.get("CI"):
                continue  # CI installs MinIO and the emulators (scripts/test-deps.sh); locally they may be absent
            pytest.fail(f"{kind} could not be measured: {info['unavailable']}")
        assert info["answers"] == recorded[kind]["answers"], (
            f"{kind} answers differently from docs/stores.md; if intended, run "
            f"`zarr-conformance docs --measure-stores` and review the diff")


def test_modes_are_probed_and_nolist_404_is_noted(tmp_path):
    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["signed", "anonymous-nolist", "forbidden-chunk"]))
    try:
        store.start(tmp_path)
        assert store.semantics["forbidden-chunk"]["denied"] == 403
        assert "forbidden-chunk" in store.access_modes
        assert "AWS answers 403" in store.semantics["anonymous-nolist"]["note"]
    finally:
        store.stop()


def test_moto_serves_keys_decoded_once_as_s3_does(tmp_path):
    """A key is the request path percent-decoded once: "%25C3%25BC" names the key "%C3%BC", not "ü". moto
    takes the path as it arrived from the server (RAW_URI, which werkzeug's server gives and waitress does
    not); decoded twice, a reader that encodes keys twice would read objects it never asked for, and its
    finding (zarrs-object-store-non-ascii-keys) would vanish."""
    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["signed"]))
    store.start(tmp_path)
    try:
        s3, bucket = store.client(), store.bucket("signed", "k")
        s3.put_object(Bucket=bucket, Key="k/arr+ay.\u00fc/0", Body=b"unicode")
        s3.put_object(Bucket=bucket, Key="k/arr+ay.%C3%BC/0", Body=b"percent")
        s3.put_object(Bucket=bucket, Key="k/with space/0", Body=b"space")
        assert s3.get_object(Bucket=bucket, Key="k/arr+ay.%C3%BC/0")["Body"].read() == b"percent"
        assert s3.get_object(Bucket=bucket, Key="k/arr+ay.\u00fc/0")["Body"].read() == b"unicode"
        assert s3.get_object(Bucket=bucket, Key="k/with space/0")["Body"].read() == b"space"
        s3.delete_object(Bucket=bucket, Key="k/arr+ay.%C3%BC/0")
        from botocore.exceptions import ClientError

        with pytest.raises(ClientError, match="NoSuchKey"):
            s3.get_object(Bucket=bucket, Key="k/arr+ay.%C3%BC/0")
    finally:
        store.stop()


def test_moto_keeps_connections_open(tmp_path):
    """S3 keeps a client's connection open between requests; werkzeug's development server closed it after
    every response, so each request of every reader paid for a new connection (bench/s3_cell_cost.py
    --compare server)."""
    import http.client

    store = MotoS3Store("s3-moto", StoreSpec(kind="s3-moto", access=["anonymous"]))
    store.start(tmp_path)
    try:
        bucket = store.bucket("anonymous", "k")
        store.client().put_object(Bucket=bucket, Key="k/0", Body=b"zero")
        conn = http.client.HTTPConnection("127.0.0.1", store.server.port, timeout=10)
        answers, sockets = [], []
        for key in ("k/0", "k/missing", "k/0"):
            conn.request("GET", f"/{bucket}/{key}")
            resp = conn.getresponse()
            answers.append((resp.status, resp.read()[:4], resp.getheader("Connection")))
            sockets.append(conn.sock)
        assert [a[:2] for a in answers] == [(200, b"zero"), (404, b"<?xm"), (200, b"zero")]
        assert all(a[2] != "close" for a in answers) and sockets[0] is not None
        assert sockets[0] is sockets[1] is sockets[2]  # one connection served all three
        conn.close()
    finally:
        store.stop()


def _descendants(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _alive(procs):
    return [p for p in procs if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.skipif(MINIO is None and not os.environ.get("CI"), reason="MinIO not built (scripts/install-minio.sh)")
def test_minio_and_moto_stop_on_ctrl_c(tmp_path):
    out = tmp_path / "run"
    args = [*CLI, "--matrix", ROOT / "tests" / "fixtures" / "matrix-fake.yaml", "run", "--stores",
            "s3-moto,s3-minio", "--writers", "fake", "--readers", "fake", "--out", out, "--no-findings", "-j", "1"]
    # Slow reads: the interrupt comes while cells are still being read, not while the run is already stopping.
    proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "ZC_FAKE_READ_DELAY": "0.2"})
    deadline = time.monotonic() + 120
    kids = []
    while time.monotonic() < deadline:
        kids = _descendants(proc.pid)
        if any("minio" in " ".join(k.cmdline()) for k in _alive(kids)) and (out / "results.jsonl").exists() \
                and (out / "results.jsonl").stat().st_size > 0:
            break
        time.sleep(0.1)
    assert any(k.name() == "minio" for k in _alive(kids)), "MinIO runs during the run"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    time.sleep(1)
    assert not _alive(kids), f"left behind: {[k.cmdline() for k in _alive(kids)]}"
    assert proc.returncode == 130 and "interrupted" in err, err[-2000:]
    assert (out / "report.html").exists(), "the report of the cells read so far is written"


def test_minio_absent_is_reported_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([*CLI, "--matrix", str(ROOT / "tests" / "fixtures" / "matrix-fake.yaml"), "run", "--stores",
                           "local,s3-minio", "--writers", "fake", "--readers", "fake", "--out", str(out),
                           "--no-findings", "-q"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "ZC_TOOLS": str(tmp_path / "no-tools")}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert "is not installed" in run["not_available"]["store:s3-minio"]
    recs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["store"] for r in recs if r["outcome"] != "skipped"} == {"local"}
    # The store's cells are in the results, skipped with the reason, not silently gone.
    minio = [r for r in recs if r["store"] == "s3-minio"]
    assert minio and all(r["outcome"] == "skipped" and "not installed" in r["message"] for r in minio)
    assert "not available" in (out / "report.html").read_text()


def test_no_endpoint_survives_a_failing_test(pytester):
    pytester.makepyfile("""
        import pytest
        from harness.matrix import StoreSpec
        from harness.stores import MotoS3Store

        @pytest.fixture
        def moto(tmp_path):
            s = MotoS3Store("m", StoreSpec(kind="s3-moto"))
            s.start(tmp_path)
            yield s
            s.stop()

        def test_fails(moto):
            open("endpoint.txt", "w").write(moto.endpoint)
            assert False
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    endpoint = (pytester.path / "endpoint.txt").read_text()
    port = int(endpoint.rsplit(":", 1)[1])
    assert not [c for c in psutil.net_connections("tcp") if c.laddr and c.laddr.port == port and c.status == "LISTEN"]


def test_http_store_serves_like_a_static_server(tmp_path):
    import urllib.request

    from harness.stores import HttpStore

    store = HttpStore("http", StoreSpec(kind="http"))
    try:
        store.start(tmp_path)
        (store.root / "d").mkdir()
        (store.root / "d" / "f").write_bytes(b"0123456789")
        r = urllib.request.urlopen(urllib.request.Request(store.base + "/d/f", headers={"Range": "bytes=-3"}))
        assert (r.status, r.read()) == (206, b"789")
        assert len(r.headers.get_all("Date")) == 1  # strict clients refuse duplicate Date headers
        listing = urllib.request.urlopen(store.base + "/d")  # redirected to d/, then listed
        assert listing.url.endswith("/d/") and '<a href="f">f</a>' in listing.read().decode()
    finally:
        store.stop()


def test_datasets_spread_over_buckets():
    """One deny per dataset in one policy outgrows what MinIO accepts (PolicyTooLarge), and moto lists a
    bucket by scanning all its keys: the datasets of every access mode are spread over several buckets
    (forbidden-chunk's each with the denies of its own datasets), the same key in the same one."""
    from harness.matrix import StoreSpec
    from harness.stores import S3Store

    store = S3Store("s", StoreSpec(kind="s3-moto", access=["signed", "forbidden-chunk"]))
    keys = [f"datasets/w@{i}/v3/int16/zstd/sparse" for i in range(600)]
    buckets = {k: store.bucket("forbidden-chunk", k) for k in keys}
    assert set(buckets.values()) <= set(store.buckets("forbidden-chunk"))
    assert len(set(buckets.values())) >= store.shards * 3 // 4
    from harness.stores import _policy

    for b in set(buckets.values()):  # MinIO's limit on a bucket policy is 20 KiB
        denies = [f"{k}/c/0/1" for k, kb in buckets.items() if kb == b]
        assert len(json.dumps(_policy(b, "forbidden-chunk", denies))) < 16 * 1024
    assert store.bucket("forbidden-chunk", keys[0]) == store.bucket("forbidden-chunk", keys[0])
    signed = {store.bucket("signed", k) for k in keys}
    assert signed <= set(store.buckets("signed")) and len(signed) >= store.shards * 3 // 4
    assert store.bucket("signed", keys[0]) == store.bucket("forbidden-chunk", keys[0]).replace("forbidden-chunk", "signed")


# --- the other clouds: fake-gcs-server and Azurite ----------------------------------------------------

FAKE_GCS = tool_binary("fake-gcs-server", load_matrix().fake_gcs_version)
needs_fake_gcs = pytest.mark.skipif(FAKE_GCS is None and not os.environ.get("CI"),
                                    reason="fake-gcs-server not built (scripts/install-fake-gcs.sh)")
needs_azurite = pytest.mark.skipif(azurite_script() is None and not os.environ.get("CI"),
                                   reason="Azurite not installed (scripts/install-azurite.sh)")


def _dataset(tmp_path):
    ds = tmp_path / "ds"
    (ds / "a" / "c").mkdir(parents=True)
    (ds / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    (ds / "a" / "c" / "0").write_bytes(b"chunk bytes")
    return ds


def _get(url, headers=None):
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, b""


@needs_fake_gcs
def test_gcs_store_publishes_probes_and_does_not_check_credentials(tmp_path):
    from urllib.parse import urlsplit

    store = GcsStore("gcs", StoreSpec(kind="gcs", access=["signed", "anonymous"]))
    store.fake_gcs_version = load_matrix().fake_gcs_version
    try:
        store.start(tmp_path)
        assert urlsplit(store.endpoint).hostname == "127.0.0.1"
        assert {m: (s["existing"], s["missing"]) for m, s in store.semantics.items()} == \
            {"signed": (200, 404), "anonymous": (200, 404)}
        store.publish(_dataset(tmp_path), "datasets/w/case", "signed")
        t = store.target(tmp_path, "datasets/w/case", "signed")
        assert t["kind"] == "gcs" and t["prefix"] == "datasets/w/case" and t["token"] and not t["anonymous"]
        assert "token" not in store.target(tmp_path, "datasets/w/case", "anonymous")
        url = store.object_url(t["bucket"], "datasets/w/case/a/c/0")
        assert _get(url, store.auth()) == (200, b"chunk bytes")  # a signed read
        assert _get(store.object_url(t["bucket"], "datasets/w/case/a/c/1"), store.auth())[0] == 404
        # Not enforced: an unsigned request and a wrong token read the private bucket all the same.
        assert _get(url)[0] == 200
        assert _get(url, {"Authorization": "Bearer wrong"})[0] == 200
    finally:
        store.stop()
    assert not [c for c in psutil.net_connections("tcp") if c.laddr and c.status == "LISTEN"
                and f"127.0.0.1:{c.laddr.port}" in store.endpoint]


@needs_azurite
def test_azure_store_enforces_shared_key_and_public_access_levels(tmp_path):
    store = AzureStore("azure", StoreSpec(kind="azure", access=["signed", "anonymous", "anonymous-nolist",
                                                                  "forbidden-chunk"]))
    try:
        store.start(tmp_path)
        assert store.endpoint.startswith("http://127.0.0.1:") and store.endpoint.endswith("/" + store.account)
        assert store.account != "devstoreaccount1"  # a random account, not the emulator's well-known one
        assert "forbidden-chunk" in store.unavailable_modes  # no per-blob deny in Azure Blob
        sem = store.semantics
        assert (sem["signed"]["existing"], sem["signed"]["missing"]) == (200, 404)
        assert sem["anonymous"]["list"] == 200 and sem["anonymous-nolist"]["list"] == 403
        store.publish(_dataset(tmp_path), "datasets/w/case", "signed")
        key = "datasets/w/case/a/c/0"
        assert store.request("signed", key, signed=True) == 200  # Shared Key, the account's key
        assert store.request("signed", "datasets/w/case/a/c/1", signed=True) == 404
        assert store.request("signed", key, signed=False) == 403  # enforced: a private container
        real, store.key = store.key, base64.b64encode(b"x" * 64).decode()
        try:
            assert store.request("signed", key, signed=True) == 403  # a wrong key
        finally:
            store.key = real
        t = store.target(tmp_path, "datasets/w/case", "anonymous-nolist")
        assert t == {"kind": "azure", "endpoint": store.endpoint, "account": store.account, "key": store.key,
                     "container": "zc-anonymous-nolist", "prefix": "datasets/w/case", "anonymous": True}
    finally:
        store.stop()


@needs_fake_gcs
@needs_azurite
def test_emulators_stop_on_ctrl_c(tmp_path):
    out = tmp_path / "run"
    args = [*CLI, "--matrix", ROOT / "tests" / "fixtures" / "matrix-fake.yaml", "run", "--stores",
            "local,gcs,azure", "--writers", "fake", "--readers", "fake", "--out", out, "--no-findings", "-j", "1"]
    proc = subprocess.Popen([str(a) for a in args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    kids = []
    names = lambda ks: " ".join(" ".join(k.cmdline()) for k in _alive(ks))  # noqa: E731
    while time.monotonic() < deadline:
        kids = _descendants(proc.pid)
        if "fake-gcs-server" in names(kids) and "azurite" in names(kids) and (out / "results.jsonl").exists() \
                and (out / "results.jsonl").stat().st_size > 0:
            break
        time.sleep(0.1)
    assert "fake-gcs-server" in names(kids) and "azurite" in names(kids), "both emulators run during the run"
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    time.sleep(1)
    assert not _alive(kids), f"left behind: {[k.cmdline() for k in _alive(kids)]}"


def _emulator_pids() -> set[int]:
    pids = set()
    for p in psutil.process_iter():
        try:
            if "fake-gcs-server" in p.name() or "azurite" in " ".join(p.cmdline()):
                pids.add(p.pid)
        except psutil.Error:
            pass
    return pids


@needs_fake_gcs
@needs_azurite
def test_emulators_stop_after_a_run(tmp_path):
    out = tmp_path / "run"
    before = _emulator_pids()
    proc = subprocess.run([*CLI, "--matrix", str(ROOT / "tests" / "fixtures" / "matrix-fake.yaml"), "run", "--stores",
                           "local,gcs,azure", "--writers", "fake", "--readers", "fake", "--out", str(out),
                           "--no-findings", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr
    run = json.loads((out / "run.json").read_text())
    assert not any(k.startswith("store:") for k in run.get("not_available", {})), run.get("not_available")
    after = _emulator_pids()
    assert after <= before, "an emulator outlived the run"


def test_an_emulator_that_fails_to_start_leaves_nothing(tmp_path, monkeypatch):
    """A store whose server dies before it is ready is reported as not available, with no process left."""
    from harness.stores import StoreSet

    bogus = tmp_path / "fake-gcs-server" / "v0" / "fake-gcs-server"
    bogus.parent.mkdir(parents=True)
    bogus.write_text("#!/bin/sh\nexit 3\n")
    bogus.chmod(0o755)
    monkeypatch.setenv("ZC_TOOLS", str(tmp_path))
    stores = StoreSet({"gcs": ["signed"]}, {"gcs": StoreSpec(kind="gcs")}, None, log=lambda *_: None,
                      fake_gcs_version="v0")
    before = set(_descendants(os.getpid()))
    stores.start(tmp_path)
    try:
        assert "did not start" in stores.not_available["store:gcs"]
        assert not [p for p in _alive(_descendants(os.getpid())) if p not in before]
    finally:
        stores.stop()
