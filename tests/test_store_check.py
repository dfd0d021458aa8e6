"""A store that does not serve a dataset as it was published: the store's fault, never the reader's.

The S3 store (moto) is made to answer one chunk object of every dataset with other bytes, once (a
fault that publishing again repairs) or on every upload (a fault that stays)."""

from __future__ import annotations

import pytest

from conftest import FAKE_MATRIX
from harness import run as run_module
from harness.artifacts import load_run
from harness.plan import Selection
from harness.stores import METADATA_FILES, MotoS3Store

CASE = "v2/int16/zlib/edge"


def corrupting_publish(monkeypatch, times: int | None):
    """MotoS3Store.publish then overwrite one chunk object with garbage (the first `times` uploads of a
    dataset, or every one with None)."""
    real = MotoS3Store.publish
    uploads: dict[tuple, int] = {}

    def publish(self, dataset, key, access, deny=None):
        real(self, dataset, key, access, deny)
        n = uploads[(key, access)] = uploads.get((key, access), 0) + 1
        if times is None or n <= times:
            chunk = sorted(p for p in dataset.rglob("*") if p.is_file() and p.name not in METADATA_FILES)[0]
            self.client().put_object(Bucket=self.bucket(access, key), Key=f"{key}/{chunk.relative_to(dataset).as_posix()}",
                                     Body=b"not the published bytes")

    monkeypatch.setattr(MotoS3Store, "publish", publish)
    return uploads


def run(tmp_path, reader="fake"):
    opts = run_module.RunOptions(selection=Selection(matrix=str(FAKE_MATRIX), writers=("fake",), readers=(reader,),
                                                     cases=(CASE,), stores=("local", "s3-moto")),
                                 out=str(tmp_path / "run"), quiet=True, jobs=2, findings=str(tmp_path / "no-findings"))
    (tmp_path / "no-findings").mkdir()
    rc = run_module.run(opts)
    records, _, _ = load_run(tmp_path / "run")
    return rc, records, (tmp_path / "run" / "summary.md").read_text()


def test_a_store_that_keeps_answering_wrong_bytes_is_the_stores_fault(tmp_path, monkeypatch):
    corrupting_publish(monkeypatch, times=None)
    rc, records, summary = run(tmp_path)
    s3 = [r for r in records if r["store"] == "s3-moto"]
    local = [r for r in records if r["store"] == "local"]
    assert local and all(r["outcome"] == "pass" for r in local)
    assert s3 and all(r["outcome"] != "pass" for r in s3)
    for r in s3:
        assert r["label"] == "faulty-store" and not r["unexpected"], r
        assert "bytes that differ from the" in r["store_fault"] and "after the dataset was published again" in r["store_fault"]
    assert rc == 0, summary
    assert "cells read from a store that does not serve their dataset as published" in summary


def test_a_store_fault_that_publishing_again_repairs_is_read_again(tmp_path, monkeypatch):
    uploads = corrupting_publish(monkeypatch, times=1)
    rc, records, summary = run(tmp_path)
    s3 = [r for r in records if r["store"] == "s3-moto"]
    assert s3 and all(r["outcome"] == "pass" and not r["unexpected"] and r["label"] == "" for r in s3), s3
    repaired = [r for r in s3 if r.get("store_repaired")]
    assert repaired, "a cell that failed on the corrupted object must say it was read again"
    assert all("published again, it answers right" in r["store_repaired"] for r in repaired)
    assert max(uploads.values()) == 2  # published once, and once more by the check (per access mode)
    assert rc == 0, summary


def test_a_reader_that_fails_on_a_sound_store_is_still_unexpected(tmp_path, monkeypatch):
    """The check finds the store sound, so the reader's own failure (transposed values) stays the reader's."""
    fetched = []
    real = MotoS3Store.fetch
    monkeypatch.setattr(MotoS3Store, "fetch", lambda self, *a: fetched.append(a) or real(self, *a))
    rc, records, _ = run(tmp_path, reader="fake-transpose")
    s3 = [r for r in records if r["store"] == "s3-moto"]
    assert rc == 1 and s3 and all(r["outcome"] == "mismatch" and r["unexpected"] and r["label"] == "" for r in s3)
    assert not any(r.get("store_fault") or r.get("store_repaired") for r in s3)
    assert fetched  # the store was checked, object by object, and found to answer right
