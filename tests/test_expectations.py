"""Expectations: matching (access modes included), and `update` collapsing, ordering and keeping."""

import yaml

from harness.expectations import Expectation, Expectations, update


def rec(writer, reader, case, store, access, outcome, message=""):
    return {"writer": writer, "reader": reader, "case": case, "store": store, "access": access,
            "outcome": outcome, "message": message, "diagnosis": ""}


def test_access_mode_is_part_of_the_match():
    e = Expectations([Expectation(reader="r@1", access="forbidden-chunk", outcome="mismatch", reason="403 as missing")])
    cell = {"writer": "w@1", "reader": "r@1", "case": "v2/x", "store": "s3-moto"}
    assert e.judge({**cell, "access": "forbidden-chunk"}, "mismatch") == ("mismatch", False, e.entries[0])
    assert e.judge({**cell, "access": "signed"}, "pass")[1] is False  # no entry: pass expected
    assert e.judge(cell, "mismatch")[1] is True  # access defaults to signed


def test_update_collapses_orders_and_keeps(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(yaml.safe_dump([
        {"writer": "*", "reader": "other@1", "case": "v3/y", "outcome": "error", "reason": "kept: not in this run"},
        {"writer": "*", "reader": "r@1", "case": "v2/a", "outcome": "error", "reason": "reviewed reason",
         "link": "https://example.org/1"},
    ]))
    records = [
        rec("w@1", "r@1", "v2/a", "local", "signed", "error", "E: new text"),
        rec("w@1", "r@1", "v2/a", "s3-moto", "signed", "error", "E: new text"),
        rec("w@1", "r@1", "v2/b", "local", "signed", "pass"),
        rec("w@1", "r@1", "v2/b", "s3-moto", "signed", "pass"),
        rec("w@1", "r@1", "v2/b", "s3-moto", "forbidden-chunk", "mismatch", "returned data"),
    ]
    update(path, records)
    entries = yaml.safe_load(path.read_text())
    by = {(e["reader"], e["case"]): e for e in entries}
    assert by[("r@1", "v2/a")]["store"] == "*" and by[("r@1", "v2/a")]["reason"] == "reviewed reason"
    assert by[("r@1", "v2/a")]["link"] == "https://example.org/1"
    assert by[("r@1", "v2/b")]["access"] == "forbidden-chunk" and by[("r@1", "v2/b")]["store"] == "s3-moto"
    assert by[("other@1", "v3/y")]["reason"] == "kept: not in this run"
    judged = Expectations.load(path)
    for r in records:
        assert judged.judge(r, r["outcome"])[1] is False, r
