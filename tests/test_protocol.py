"""Protocol v1 as an adapter speaks it: hello, write, read, bad requests, bye."""

import json
import subprocess
import sys

import pytest

from harness.cases import catalogue
from harness.reference import ReferenceStore
from conftest import ROOT

FAKE = [sys.executable, str(ROOT / "tests" / "fixtures" / "fake_adapter.py")]


@pytest.fixture
def adapter():
    proc = subprocess.Popen(FAKE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ask(obj):
        proc.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        proc.stdin.flush()
        return json.loads(proc.stdout.readline())

    yield proc, ask
    proc.kill()
    proc.wait()


def test_hello(adapter):
    _, ask = adapter
    r = ask({"op": "hello", "protocol": 1})
    assert r["ok"] is True and r["protocol"] == 1
    assert set(r["verbs"]) == {"read", "write"}
    assert r["impl"] == "fake" and r["version"]


def test_write_then_read(adapter, tmp_path):
    _, ask = adapter
    case = catalogue()["v3/float64/zstd/fill-nan"]
    refs = ReferenceStore(tmp_path / "ref")
    w = ask({"op": "write", "id": "w1", "case": case.to_json(), "data": str(refs.ensure(case)),
             "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w == {"id": "w1", "status": "ok"}
    r = ask({"op": "read", "id": "r1", "format": "zarr3", "path": case.path,
             "target": {"kind": "local", "path": str(tmp_path / "ds")}, "dump": str(tmp_path / "dump.bin")})
    assert r["id"] == "r1" and r["status"] == "ok"
    assert r["hash"] == refs.hash(case)
    assert r["shape"] == list(case.shape) and r["dtype"] == "float64"
    assert r["fill_value"] == "NaN"
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)


@pytest.mark.parametrize("line, expect", [
    ("this is not json", "BadRequest"),
    ("[1, 2]", "BadRequest"),
    ('{"op": "frobnicate", "id": "x"}', "unknown op"),
    ('{"op": "read", "id": "x"}', "missing target"),
    ('{"op": "write", "id": "x", "target": {}}', "missing case, data"),
])
def test_bad_requests_are_errors_not_crashes(adapter, line, expect):
    proc, ask = adapter
    r = ask(line)
    assert r["status"] == "error" and expect in r["error"]
    assert ask({"op": "hello", "protocol": 1})["ok"]  # still serving
    assert proc.poll() is None


def test_library_error_is_reported_verbatim(adapter, tmp_path):
    _, ask = adapter
    r = ask({"op": "read", "id": "r", "format": "zarr2", "path": "nope",
             "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "error"
    assert r["error"].startswith("FileNotFoundError: ")


def test_unsupported(adapter):
    _, ask = adapter
    r = ask({"op": "read", "id": "r", "format": "zarr2", "path": "a", "target": {"kind": "ftp"}})
    assert r == {"id": "r", "status": "unsupported", "error": "no ftp support"}


def test_bye_exits_zero(adapter):
    proc, _ = adapter
    proc.stdin.write('{"op": "bye"}\n')
    proc.stdin.flush()
    assert proc.wait(timeout=10) == 0
