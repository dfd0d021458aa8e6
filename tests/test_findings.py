"""Findings: the schema and its messages, judging (regressions are never neutral, flaky is its own
outcome, a writer's fault is the writer's), stale findings, and proposals that never widen."""

import json

import pytest
import yaml

from harness.findings import Findings
from harness.judge import judge_cell, judge_write, rejudge, stale
from harness.matrix import ConfigError
from harness.propose import normalize, propose, smallest_selectors
from harness.results import load_jsonl
from conftest import FAKE_MATRIX, finding, run_cli, write_findings


def rec(reader="r@1.2", case="v2/int16/zlib/edge", outcome="pass", writer="w@1", store="local", access="signed",
        **kw):
    return {"writer": writer, "reader": reader, "case": case, "store": store, "access": access, "outcome": outcome,
            "message": kw.pop("message", ""), "diagnosis": "", "format": case.split("/")[0].replace("v", "zarr"), **kw}


def load(tmp_path, impl, entries):
    return Findings.load(write_findings(tmp_path / "f", impl, entries))


# --- the schema ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change, message", [
    ({"severity": "bad"}, "finding x-1.severity"),
    ({"versions": "three"}, "not a version range"),
    ({"upstream": "someday"}, "give the upstream issue's URL, or `unreported`"),
    ({"outcomes": ["pass"]}, "cannot be predicted"),
    ({"cells": [{}]}, "names at least one field"),
    ({"cells": [{"redaer": "x"}]}, "did you mean 'reader'"),
    ({"cells": [{"message": "("}]}, "not a regular expression"),
])
def test_schema_errors_name_the_file_the_finding_and_the_problem(tmp_path, change, message):
    entry = {**finding("x-1", "a defect in plain words", ["error"], [{"format": "zarr2"}]), **change}
    path = write_findings(tmp_path / "f", "r", [entry]) / "r.yaml"
    with pytest.raises(ConfigError) as err:
        Findings.load(path.parent)
    assert str(path) in str(err.value) and message in str(err.value)


def test_file_names_its_implementation_and_ids_are_unique(tmp_path):
    d = write_findings(tmp_path / "f", "a", [finding("same", "a defect in plain words", ["error"], [{"case": "*"}])])
    (d / "b.yaml").write_text(yaml.safe_dump({"implementation": "c", "findings": []}))
    with pytest.raises(ConfigError, match="must be named c.yaml"):
        Findings.load(d)
    (d / "b.yaml").write_text(yaml.safe_dump({"implementation": "b", "findings": [
        finding("same", "another defect in words", ["error"], [{"case": "*"}])]}))
    with pytest.raises(ConfigError, match="already used"):
        Findings.load(d)
    with pytest.raises(ConfigError, match="unknown implementation 'a'"):
        Findings.load(d, known_impls={"b"})


def test_a_malformed_file_is_a_clear_error_from_the_cli(tmp_path):
    d = tmp_path / "f"
    d.mkdir()
    (d / "fake.yaml").write_text("implementation: fake\nfindings: [ {id: 1\n")
    proc = run_cli("--matrix", FAKE_MATRIX, "findings", "check", "--findings", d)
    assert proc.returncode == 2 and "not valid YAML" in proc.stderr


# --- judging --------------------------------------------------------------------------------------

def test_version_ranges_features_and_roles(tmp_path):
    f = load(tmp_path, "r", [
        finding("r-old", "old r reads blosc wrong", ["mismatch"], [{"feature": "codec:zlib"}], versions=">=1.0,<1.3"),
    ])
    assert judge_cell(rec(outcome="mismatch", reader_version="1.2"), f).finding == "r-old"
    # the next release is not covered: a mismatch there is new
    assert judge_cell(rec(reader="r@1.3", outcome="mismatch", reader_version="1.3"), f).unexpected
    # the same defect, but a cell of another codec
    assert judge_cell(rec(case="v2/int16/raw/edge", outcome="mismatch", reader_version="1.2"), f).unexpected


def test_pass_to_unsupported_is_unexpected(tmp_path):
    """A cell without a finding that answers `unsupported` is a regression, not a declared gap."""
    none = Findings()
    assert judge_cell(rec(outcome="unsupported"), none).unexpected
    f = load(tmp_path, "r", [finding("r-no-v2", "r reads no zarr v2", ["unsupported"], [{"format": "zarr2"}],
                                     severity="unsupported")])
    assert not judge_cell(rec(outcome="unsupported"), f).unexpected
    # skipped cells carry no verdict of their own (their write record does)
    assert not judge_cell(rec(outcome="skipped"), none).unexpected
    assert judge_write({"writer": "w@1", "case": "v2/int16/zlib/edge", "status": "unsupported"}, none).unexpected


def test_flaky_is_its_own_outcome_and_never_a_plain_expectation(tmp_path):
    f = load(tmp_path, "r", [finding("r-err", "r fails on zlib", ["error"], [{"feature": "codec:zlib"}])])
    assert judge_cell(rec(outcome="flaky"), f).unexpected
    assert not judge_cell(rec(outcome="flaky"),
                          load(tmp_path, "r", [finding("r-503", "r gives up on one 503", ["flaky"], [{"store": "*"}])])).unexpected


def test_a_flaky_reader_is_recorded_as_flaky(tmp_path):
    out = tmp_path / "run"
    run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge,v2/int16/raw/edge", "--writers", "fake",
            "--readers", "fake-flaky", "--out", out, "--no-findings", "--quiet")
    by = {r["case"]: r for r in load_jsonl(out / "results.jsonl")}
    flaky = by["v2/int16/zlib/edge"]
    assert flaky["outcome"] == "flaky" and flaky["unexpected"]
    assert set(flaky["attempts"]) == {"pass", "error"} and len(flaky["attempts"]) == 3
    assert "503 Slow Down" in flaky["message"]
    assert by["v2/int16/raw/edge"]["outcome"] == "pass" and by["v2/int16/raw/edge"]["attempts"] is None


def test_a_writer_that_writes_a_wrong_fill_is_the_writers_finding(tmp_path):
    """Its readers' cells are labelled as reading a faulty dataset, not failed."""
    out = tmp_path / "run"
    proc = run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/fill-neg7,v3/float64/zstd/edge",
                   "--writers", "fake-badfill", "--readers", "fake,fake-transpose", "--out", out, "--no-findings",
                   "--quiet")
    writes = {w["case"]: w for w in load_jsonl(out / "writes.jsonl")}
    assert writes["v2/int16/zlib/fill-neg7"]["status"] == "faulty"
    assert "fill_value written as 12345 (the case: -7)" in writes["v2/int16/zlib/fill-neg7"]["message"]
    assert writes["v2/int16/zlib/fill-neg7"]["unexpected"]  # no finding yet: the writer's, unexpected
    recs = load_jsonl(out / "results.jsonl")
    faulty = [r for r in recs if r["case"] == "v2/int16/zlib/fill-neg7"]
    assert len(faulty) == 2 and all(r["label"] == "faulty-dataset" and not r["unexpected"] for r in faulty)
    assert any(r["outcome"] == "mismatch" for r in faulty)  # the reader reported the wrong fill, as it should
    assert proc.returncode == 1  # the write is unexpected
    # With the writer's finding the run is as expected, and the readers' cells are credited to it.
    fdir = write_findings(tmp_path / "findings", "fake-badfill", [
        finding("badfill-fill", "the fake writes fill values as 12345", ["faulty"], [{"format": "*"}],
                role="writer", severity="metadata")])
    write_findings(fdir, "fake-transpose", [finding("t", "the fake transposes 2-d arrays", ["mismatch"],
                                                     [{"reader": "*"}])])
    assert run_cli("report", out, "--findings", fdir).returncode == 0
    records, writes2 = rejudge(recs, list(writes.values()), Findings.load(fdir))
    assert {r["finding"] for r in records if r["label"] == "faulty-dataset"} == {"badfill-fill"}
    html = (out / "report.html").read_text()
    assert "the fake writes fill values as 12345" in html


def test_stale_findings(tmp_path):
    f = load(tmp_path, "r", [
        finding("gone", "names a case no run has", ["error"], [{"case": "v9/*"}]),
        finding("fixed", "r used to fail zlib", ["error"], [{"feature": "codec:zlib"}]),
        finding("holds", "r fails raw", ["error"], [{"case": "v2/int16/raw/edge"}]),
    ])
    records = [rec(outcome="pass"), rec(case="v2/int16/raw/edge", outcome="error")]
    s = stale(f, records, [])
    assert s["gone"] == "matches no cell of this run" and "fixed?" in s["fixed"] and "holds" not in s


# --- proposals ------------------------------------------------------------------------------------------

def test_normalize_keeps_the_defect_and_drops_the_cell():
    a = normalize("ValueError: /tmp/x/datasets/w/ab12cd34ef/v2/int16/dataset: chunk 3.4 has 120 bytes")
    b = normalize("ValueError: /tmp/y/datasets/q/v3/dataset: chunk 0.0 has 96 bytes")
    assert a == b and "chunk" in a


def test_smallest_selectors_cover_the_cluster_and_nothing_else():
    cluster = [rec(case="v2/float32/blosc-lz4-shuffle/edge", outcome="error"),
               rec(case="v2/int16/blosc-zstd-shuffle/edge", outcome="error")]
    universe = cluster + [rec(case="v2/int16/zlib/edge"), rec(case="v3/uint32/blosc-lz4-shuffle/edge")]
    sel = smallest_selectors(cluster, universe)
    assert sel == [{"format": "zarr2", "feature": "codec:blosc"}]
    # when no field tells them apart, the case ids do (narrowed by writer where one case answers otherwise)
    tricky = [rec(writer="a@1", outcome="error"), rec(writer="b@1", case="v2/int16/raw/edge", outcome="error")]
    other = [rec(writer="b@1"), rec(writer="a@1", case="v2/int16/raw/edge")]
    assert smallest_selectors(tricky, tricky + other)[0].get("case")


def test_update_proposes_for_review_and_never_widens(tmp_path):
    out = tmp_path / "run"
    run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge,v3/float64/zstd/edge,v3/int16/zstd/sparse",
            "--writers", "fake", "--readers", "fake,fake-transpose,fake-noread-v3", "--out", out, "--no-findings",
            "--quiet")
    fdir = write_findings(tmp_path / "findings", "fake-transpose", [
        finding("t-v2", "transposes v2 arrays", ["mismatch"], [{"format": "zarr2"}])])
    before = (fdir / "fake-transpose.yaml").read_text()
    proc = run_cli("--matrix", FAKE_MATRIX, "expectations", "update", out, "--findings", fdir)
    assert proc.returncode == 0, proc.stderr
    proposed = list(yaml.safe_load_all((out / "proposed-findings.yaml").read_text()))
    by_impl = {d["implementation"]: d["findings"] for d in proposed}
    assert (fdir / "fake-transpose.yaml").read_text() == before  # nothing written without a decision
    # the v3 mismatches are a new proposal: the existing v2 finding is not widened
    assert [f["cells"] for f in by_impl["fake-transpose"]] == [[{"format": "zarr3"}]]
    assert by_impl["fake-noread-v3"][0]["outcomes"] == ["unsupported"]
    assert by_impl["fake-noread-v3"][0]["severity"] == "unsupported"
    # accepted, they explain the run
    assert run_cli("--matrix", FAKE_MATRIX, "expectations", "update", out, "--findings", fdir,
                   "--accept-all").returncode == 0
    report = run_cli("report", out, "--findings", fdir)
    assert report.returncode == 0, report.stdout
    assert json.loads((out / "run.json").read_text())["unexpected"] == 0
