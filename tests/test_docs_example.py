"""The minimal adapter of docs/adding-an-implementation.md is a real adapter: it joins
a matrix as a reader (in zarr-python 3.1.6's environment) and earns its verdicts."""

import textwrap

import pytest

from harness.environments import env_dir, setup
from harness.matrix import load_matrix
from harness.results import load_jsonl
from conftest import run_cli

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
    out = tmp_path / "run"
    proc = run_cli("--matrix", matrix, "run", "--writers", "zarr-python", "--readers", "minimal-example",
                   "--cases", "v2/int16/*,v3/float64/zstd/*,v3/int16/shard-16x14,v2/string/zlib/edge,n5/int16/raw/edge",
                   "--out", out, "--no-expectations", "--quiet")
    recs = {r["case"]: r for r in load_jsonl(out / "results.jsonl")}
    assert recs["v3/int16/shard-16x14"]["outcome"] == "pass"
    assert recs["v3/float64/zstd/fill-nan"]["outcome"] == "pass"
    assert recs["v2/int16/zlib/sparse"]["outcome"] == "pass"
    assert recs["v2/string/zlib/edge"]["outcome"] == "unsupported"
    assert "n5/int16/raw/edge" not in recs  # zarr-python 3 writes no N5: no dataset, no cell
    assert proc.returncode == 0, proc.stderr
