"""The protocol as an adapter speaks it: hello, write, read, regions (protocol 2), bad requests, bye; and the
harness speaking to an adapter of protocol 1."""

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
    r = ask({"op": "hello", "protocol": 2})
    assert r["ok"] is True and r["protocol"] == 2
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


def _written(ask, tmp_path, cid):
    case = catalogue()[cid]
    refs = ReferenceStore(tmp_path / "ref")
    w = ask({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
             "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "ok", w
    return case, refs


def test_a_region_is_read(adapter, tmp_path):
    _, ask = adapter
    case, refs = _written(ask, tmp_path, "v2/int16/zlib/edge-region-strided")
    assert case.region and case.read_shape == (7, 5)
    r = ask({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "region": [list(x) for x in case.region],
             "target": {"kind": "local", "path": str(tmp_path / "ds")}, "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok" and r["shape"] == [7, 5], r
    assert r["hash"] == refs.hash(case) != ReferenceStore(tmp_path / "ref").hash(
        catalogue()["v2/int16/zlib/edge"])
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)


@pytest.mark.parametrize("region", [[[0, 5]], [[5, 5, 1], [0, 1, 1]], [[0, 5, 0], [0, 1, 1]], [[0, 5, 1]],
                                    [[0, 21, 1], [0, 1, 1]], "all", [[0.5, 2, 1], [0, 1, 1]], [[True, 2, 1], [0, 1, 1]]])
def test_a_bad_region_is_a_bad_request(adapter, tmp_path, region):
    proc, ask = adapter
    case, _ = _written(ask, tmp_path, "v2/int16/zlib/edge")
    r = ask({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "region": region,
             "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert r["status"] == "error" and r["error"].startswith("BadRequest"), r
    assert ask({"op": "hello", "protocol": 2})["ok"] and proc.poll() is None


def test_region_cells_of_a_protocol_1_adapter_are_skipped(tmp_path):
    """An adapter written before regions keeps working: its whole reads pass, its region cells are skipped
    (never charged to the library), and the harness sends it no region."""
    import yaml

    from conftest import FAKE_MATRIX, run_cli
    from harness.results import load_jsonl

    m = yaml.safe_load(FAKE_MATRIX.read_text())
    m["implementations"]["fake-old"] = {**m["implementations"]["fake"],
                                        "command": [*m["implementations"]["fake"]["command"], "--protocol", "1"]}
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(m))
    out = tmp_path / "run"
    r = run_cli("--matrix", matrix, "run", "--stores", "local", "--writers", "fake", "--readers", "fake,fake-old",
                "--cases", "v2/int16/zlib/edge,v2/int16/zlib/edge-region-*", "--out", out, "--no-findings", "-q")
    assert r.returncode == 0, r.stderr[-3000:]
    cells = {(c["reader"].split("@")[0], c["case"]): c for c in load_jsonl(out / "results.jsonl")}
    assert cells[("fake", "v2/int16/zlib/edge-region-strided")]["outcome"] == "pass"
    assert cells[("fake-old", "v2/int16/zlib/edge")]["outcome"] == "pass"
    old = cells[("fake-old", "v2/int16/zlib/edge-region-strided")]
    assert old["outcome"] == "skipped" and "protocol 1" in old["message"], old
