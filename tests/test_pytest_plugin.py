"""The matrix as pytest items: ids, -k selection, filters, expectations as strict xfail."""

import json
import subprocess
import sys

from conftest import FAKE_MATRIX, ROOT, finding, write_findings


def pytest_run(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--zc", "--zc-matrix", str(FAKE_MATRIX), "--zc-writers", "fake", *args, str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)


def test_items_ids_and_selection(tmp_path):
    proc = pytest_run(tmp_path, "--zc-cases", "v2/int16/zlib/edge", "--collect-only", "-q",
                      "-k", "fake-transpose")
    ids = [ln for ln in proc.stdout.splitlines() if "fake@good/" in ln]
    assert "fake@good/v2/int16/zlib/edge/local/fake-transpose@1" in ids[0]
    assert len(ids) == 1, proc.stdout


def test_outcomes_and_findings(tmp_path):
    fdir = write_findings(tmp_path / "findings", "fake-transpose", [
        finding("fake-transposes", "the fake transposes 2-d arrays", ["mismatch"], [{"case": "v2/int16/zlib/edge"}])])
    out = tmp_path / "out"
    proc = pytest_run(tmp_path, "--zc-cases", "v2/int16/zlib/edge,v2/int16/zlib/3d-F", "--zc-readers",
                      "fake,fake-transpose", "--zc-findings", str(fdir), "--zc-out", str(out), "-q", "-rA")
    text = proc.stdout
    assert "3 passed, 1 xfailed" in text, text[-3000:]
    assert (out / "results.jsonl").exists() and (out / "report.html").exists()
    # Without the finding the mismatch fails with its diagnosis (and lands in a temporary reports/).
    proc = pytest_run(tmp_path, "--zc-cases", "v2/int16/zlib/edge", "--zc-readers", "fake-transpose", "-q",
                      "--zc-no-findings")
    assert proc.returncode == 1
    assert "mismatch" in proc.stdout and "transposed (axes reversed)" in proc.stdout


def test_bad_filter_is_a_usage_error(tmp_path):
    proc = pytest_run(tmp_path, "--zc-readers", "fkae")
    assert proc.returncode == 4
    assert "did you mean 'fake'" in proc.stderr + proc.stdout
