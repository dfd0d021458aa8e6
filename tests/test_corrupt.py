"""A dataset deliberately corrupted so that a real reader returns wrong data
without an error must come out as `mismatch`, with a diagnosis."""


import pytest

from harness.results import load_jsonl
from conftest import run_cli

pytestmark = pytest.mark.adapters

CASE = "v2/int16/raw/edge"  # uncompressed: flipped bytes decode without complaint
IMPL = "zarr-python@3.1.6"


def test_corrupted_chunk_is_a_mismatch(tmp_path, isolated_cache):
    out = tmp_path / "first"
    proc = run_cli("run", "--writers", IMPL, "--readers", IMPL, "--cases", CASE, "--stores", "local",
                   "--out", out, "--no-findings", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert [r["outcome"] for r in load_jsonl(out / "results.jsonl")] == ["pass"]
    # Corrupt one chunk of the cached dataset in place: same length, different bytes.
    chunks = [p for p in (isolated_cache / "datasets").rglob("array/1.2") if p.is_file()]
    assert len(chunks) == 1, chunks
    raw = bytearray(chunks[0].read_bytes())
    for i in range(0, len(raw), 2):
        raw[i] ^= 0xFF
    chunks[0].write_bytes(bytes(raw))

    out2 = tmp_path / "second"
    proc = run_cli("run", "--writers", IMPL, "--readers", IMPL, "--cases", CASE, "--stores", "local",
                   "--out", out2, "--no-findings", "--quiet")
    assert proc.returncode == 1
    (rec,) = load_jsonl(out2 / "results.jsonl")
    assert rec["outcome"] == "mismatch" and rec["unexpected"]
    assert "data differ from the reference" in rec["message"]
    assert "32 of 600 elements differ, first at index [8, 26]" in rec["diagnosis"]
