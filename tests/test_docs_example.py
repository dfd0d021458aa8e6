"""The minimal adapter of docs/adding-an-implementation.md is a real adapter: it joins
a matrix as a reader (in zarr-python 3.1.6's environment) and earns its verdicts."""

import textwrap

import pytest

from harness.environments import env_dir, setup
from harness.matrix import load_matrix
from harness.results import load_jsonl
from conftest import finding, run_cli, write_findings

pytestmark = pytest.mark.adapters


def test_minimal_adapter_in_the_matrix(tmp_path):
    zp = next(iv for iv in load_matrix().impl_versions() if iv.id == "zarr-python@3.1.6")
    setup(zp, log=lambda *_: None)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(textwrap.dedent(f"""
        schema: 1
        implementations:
          zarr-python:
            language: python
            versions:
              "3.1.6": {{python: "3.12", backend: zarr3}}
          minimal-example:
            language: python
            adapter: command
            command: ["{env_dir(zp)}/bin/python", "{{root}}/docs/examples/minimal_adapter.py"]
            versions:
              "1": {{}}
        stores:
          local: {{kind: local}}
        profiles:
          default: {{tier: smoke, stores: [local]}}
    """))
    # Its declared gaps are findings like any other: without them they would be unexpected.
    fdir = write_findings(tmp_path / "findings", "minimal-example", [
        finding("minimal-no-strings", "the minimal example reads numeric data types only", ["unsupported"],
                [{"dtype": ["string", "S*", "U*"]}], severity="unsupported")])
    write_findings(fdir, "zarr-python", [
        finding("zarr-python-3-writes-no-n5", "zarr-python 3 writes no N5", ["unsupported"], [{"format": "n5"}],
                role="writer", versions=">=3", severity="unsupported")])
    out = tmp_path / "run"
    proc = run_cli("--matrix", matrix, "run", "--writers", "zarr-python", "--readers", "minimal-example",
                   "--cases", "v2/int16/*,v3/float64/zstd/*,v3/int16/shard-16x14,v2/string/zlib/edge,n5/int16/raw/edge",
                   "--out", out, "--findings", fdir, "--quiet")
    recs = {r["case"]: r for r in load_jsonl(out / "results.jsonl")}
    assert recs["v3/int16/shard-16x14"]["outcome"] == "pass"
    assert recs["v3/float64/zstd/fill-nan"]["outcome"] == "pass"
    assert recs["v2/int16/zlib/sparse"]["outcome"] == "pass"
    assert recs["v2/string/zlib/edge"]["outcome"] == "unsupported"
    # zarr-python 3 writes no N5: the cell is planned and skipped, with the writer's reason
    assert recs["n5/int16/raw/edge"]["outcome"] == "skipped"
    assert "does not write this" in recs["n5/int16/raw/edge"]["message"]
    assert proc.returncode == 0, proc.stderr
