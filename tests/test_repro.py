"""Reproducers in every implementation's own language: a bundle made by `build_bundle` (what
`zarr-conformance repro` lays out) over a dataset the implementation wrote says OK (exit 0), and
says DEFECT (exit 1) with the differing value once the expected values are changed. One test per
implementation that has a reproducer template: Python (each backend), JavaScript, Rust, Java, C, C++."""

import json
import shutil

import pytest

from harness.cases import catalogue
from harness.environments import cache_root
from harness.findings import Findings
from harness.matrix import load_matrix
from harness import repro as repro_module
from harness.repro import build_bundle, check_points, execute_bundle, repro_spec

from conftest import FAKE_MATRIX, WRITTEN_BY, finding, run_cli, started_worker, write_case

# The first of these cases that the implementation writes is the dataset of its reproducer.
CANDIDATES = ["v3/int16/zstd/edge", "v2/int16/zlib/edge", "v2/int16/raw/edge", "n5/int16/gzip/sparse"]
# One version per template: an implementation's own, a Python backend's (zarr-python has three), or a
# version's with an adapter of its own (GDAL 3.6.2 through C++, GDAL 3.12.2 through a Python backend).
IMPLS = list({repro_spec(iv)[0]: iv for iv in reversed(load_matrix().impl_versions()) if repro_spec(iv)}.values())


def test_every_language_has_a_reproducer_template():
    languages = {iv.language for iv in IMPLS}
    assert {"python", "typescript", "rust", "java", "c", "c++"} <= languages, languages


def _written(worker, tmp_path, reader):
    for name in CANDIDATES:
        case = catalogue()[name]
        # a library of one format (matrix.yaml `formats:`) reproduces on a dataset of that format
        if case.format not in worker.hello.get("formats", [case.format]) or not reader.uses_format(case.format):
            continue
        resp, target, _ = write_case(worker, case, tmp_path, name=name.replace("/", "_"))
        if resp["status"] == "ok":
            return case, target["path"]
    pytest.fail(f"{worker.impl.id} wrote none of {CANDIDATES}")


@pytest.mark.adapters
@pytest.mark.parametrize("iv", IMPLS, ids=lambda iv: iv.id)
def test_reproducer_says_ok_then_defect(iv, tmp_path, monkeypatch):
    gen = started_worker(iv)
    worker = next(gen)
    components = worker.hello.get("components", {})
    # A reader-only library reproduces on a dataset another implementation wrote.
    writer = next(w for w in load_matrix().impl_versions() if w.id == WRITTEN_BY[iv.name]) if iv.name in WRITTEN_BY else iv
    if writer is not iv:
        gen.close()
        gen = started_worker(writer)
        worker = next(gen)
    try:
        case, path = _written(worker, tmp_path, iv)
    finally:
        gen.close()
    key = f"test/{iv.id}"
    shutil.copytree(path, cache_root() / "datasets" / key)
    rec = {"writer": writer.id, "reader": iv.id, "case": case.id, "store": "local", "access": "signed",
           "outcome": "mismatch", "message": "", "diagnosis": "", "reader_version": iv.version,
           "writer_version": writer.version}
    writes = [{"writer": writer.id, "case": case.id, "dataset": key}]
    info = {"implementations": {iv.id: {"components": components}}}
    build_bundle(rec, writes, info, Findings([]), tmp_path / "ok")
    code, text = execute_bundle(tmp_path / "ok")
    assert code == 0 and "OK:" in text, text
    # Lie about a value the script checks (templates may embed the values when rendered): the library
    # still reads the dataset, the check must fail.
    def lying(case, diagnosis):
        checks = check_points(case, diagnosis)
        checks[0] = {**checks[0], "value": checks[0]["value"] + 1}
        return checks

    monkeypatch.setattr(repro_module, "check_points", lying)
    build_bundle(rec, writes, info, Findings([]), tmp_path / "lie")
    code, text = execute_bundle(tmp_path / "lie")
    assert code == 1 and "DEFECT:" in text, text


def test_a_write_finding_is_reproduced_by_the_writer_writing_again(tmp_path):
    """A finding about a writer (a faulty dataset) gets a bundle that has the writer write the case
    again through its one-shot command line and checks the metadata: DEFECT; a good writer's write,
    named WRITER/CASE, says OK."""
    import yaml

    out, fdir = tmp_path / "run", tmp_path / "findings"
    fdir.mkdir()
    (fdir / "fake-badfill.yaml").write_text(yaml.safe_dump({"implementation": "fake-badfill", "findings": [
        {"id": "fake-badfill-fill", "title": "fake-badfill writes a wrong fill value", "severity": "metadata",
         "role": "writer", "outcomes": ["faulty"], "upstream": "unreported", "cells": [{"format": "*"}]}]}))
    case = "v2/int16/zlib/edge"
    run_cli("--matrix", FAKE_MATRIX, "run", "--cases", case, "--writers", "fake,fake-badfill", "--readers", "fake",
            "--findings", fdir, "--out", out, "--quiet")
    bad = run_cli("--matrix", FAKE_MATRIX, "repro", "fake-badfill-fill", "--run", out, "--findings", fdir,
                  "--out", tmp_path / "bad", "--execute")
    assert bad.returncode == 0, bad.stdout + bad.stderr  # the defect is shown
    assert "DEFECT: 1 departures" in bad.stdout and "fill_value" in bad.stdout, bad.stdout
    assert (tmp_path / "bad" / "case.json").is_file() and (tmp_path / "bad" / "data.bin").is_file()
    good = run_cli("--matrix", FAKE_MATRIX, "repro", f"fake@good/{case}", "--run", out, "--findings", fdir,
                   "--out", tmp_path / "good", "--execute")
    assert good.returncode == 1 and "OK: fake@good wrote" in good.stdout, good.stdout + good.stderr
