"""Datasets damaged on purpose (harness/alter.py) and how their cells are judged: a reader must refuse
them, and neither refusing nor accepting counts when the reader cannot read the intact dataset."""

import gzip
import json
import struct
import zlib

import pytest

from harness.alter import KINDS, AlterationError, alter
from harness.cases import catalogue, select
from harness.findings import CellFacts
from harness.plan import Selection, access_applies, make_plan
from harness.results import load_jsonl
from conftest import run_cli

CORRUPT = [c for c in catalogue().values() if c.expect == "refusal"]


def _dataset(tmp_path, case, chunk_bytes=b"0123456789abcdef", meta=None):
    """What a writer would leave for a case: metadata and every chunk (or shard) object."""
    root = tmp_path / "ds"
    array = root / case.path if case.path else root
    array.mkdir(parents=True)
    from harness.dataset_check import chunk_key
    from itertools import product

    name = {"zarr2": ".zarray", "zarr3": "zarr.json", "n5": "attributes.json"}[case.format]
    (array / name).write_text(json.dumps(meta or {"zarr_format": 3, "node_type": "array",
                                                  "codecs": [{"name": "bytes"}]}))
    for idx in product(*(range(n) for n in case.chunk_grid)):
        p = array / chunk_key(case, idx)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(chunk_bytes)
    return root, array


def test_every_corrupt_case_expects_refusal_and_names_known_alterations():
    assert len(CORRUPT) >= 15
    assert {f.split(":")[1] for c in CORRUPT for f in c.features if f.startswith("corrupt:")} >= {
        "truncated", "short-chunk", "checksum", "index-truncated", "index-out-of-range", "metadata-not-json",
        "unknown-codec", "must-understand"}
    for case in catalogue().values():
        for alt in case.alterations:
            assert alt["kind"] in KINDS, (case.id, alt)
        assert case.expect in ("data", "refusal")
        assert "alterations" not in case.writer_json()  # writers never see what the harness does after them
    # Some are in every default run, so that a regression shows on every push to main.
    assert any(c.tier == "default" for c in CORRUPT) and any(c.tier == "full" for c in CORRUPT)


def test_alterations_change_the_digest():
    case = catalogue()["v3/int16/zstd/corrupt-truncated"]
    from dataclasses import replace

    assert replace(case, alterations=()).digest != case.digest


def test_truncate_flip_and_reencode(tmp_path):
    case = catalogue()["v3/int16/raw/corrupt-truncated"]
    root, array = _dataset(tmp_path, case)
    alter(case, root)
    assert (array / "c/1/1").read_bytes() == b"01234567"
    assert (array / "c/0/0").read_bytes() == b"0123456789abcdef"

    case = catalogue()["v3/int16/crc32c/corrupt-checksum"]
    root, array = _dataset(tmp_path / "b", case)
    alter(case, root)
    assert (array / "c/1/1").read_bytes() == b"01234567" + bytes([ord("8") ^ 0xFF]) + b"9abcdef"

    case = catalogue()["v2/int16/zlib/corrupt-short-chunk"]
    root, array = _dataset(tmp_path / "c", case, zlib.compress(b"x" * 100), {"zarr_format": 2})
    alter(case, root)
    assert zlib.decompress((array / "1.1").read_bytes()) == b"x" * 50

    case = catalogue()["v3/int16/gzip/corrupt-short-chunk"]
    root, array = _dataset(tmp_path / "d", case, gzip.compress(b"y" * 10))
    alter(case, root)
    assert gzip.decompress((array / "c/1/1").read_bytes()) == b"y" * 5


def test_shard_index_offset_points_outside_the_shard(tmp_path):
    case = catalogue()["v3/int16/shard-noindexcrc/corrupt-index-out-of-range"]
    entries = 4  # a 16x14 shard of 8x7 inner chunks
    shard = b"D" * 40 + b"".join(struct.pack("<QQ", 10 * i, 10) for i in range(entries))
    root, array = _dataset(tmp_path, case, shard)
    alter(case, root)
    raw = (array / "c/0/0").read_bytes()
    assert len(raw) == len(shard)
    assert struct.unpack("<Q", raw[40:48])[0] == 2 ** 40
    assert raw[48:] == shard[48:]


def test_metadata_edits_and_consolidated_metadata_dropped(tmp_path):
    case = catalogue()["v2/int16/zlib/corrupt-unknown-codec"]
    root, array = _dataset(tmp_path, case, meta={"zarr_format": 2, "compressor": {"id": "zlib", "level": 1}})
    (root / ".zmetadata").write_text("{}")  # what GDAL writes: it would still name zlib
    alter(case, root)
    assert json.loads((array / ".zarray").read_text())["compressor"] == {"id": "zc-no-such-codec"}
    assert not (root / ".zmetadata").exists()

    case = catalogue()["v3/int16/zstd/keys-default-noconfig"]
    root, array = _dataset(tmp_path / "b", case, meta={"chunk_key_encoding": {"name": "default",
                                                                              "configuration": {"separator": "/"}}})
    alter(case, root)
    assert json.loads((array / "zarr.json").read_text())["chunk_key_encoding"] == {"name": "default"}
    alter(case, root)  # already without configuration (tensorstore writes it so): nothing to do


def test_consolidate_writes_what_zarr_python_writes(tmp_path):
    case = catalogue()["v3/float32/zstd/consolidated"]
    root = tmp_path / "ds"
    (root / "level1" / "array").mkdir(parents=True)
    (root / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group", "attributes": {}}))
    (root / "level1" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "group"}))
    (root / "level1" / "array" / "zarr.json").write_text(json.dumps({"zarr_format": 3, "node_type": "array"}))
    alter(case, root)
    cm = json.loads((root / "zarr.json").read_text())["consolidated_metadata"]
    assert cm["kind"] == "inline" and cm["must_understand"] is False
    assert sorted(cm["metadata"]) == ["level1", "level1/array"]


def test_an_alteration_that_cannot_apply_says_why(tmp_path):
    case = catalogue()["v3/int16/zstd/corrupt-truncated"]
    root, array = _dataset(tmp_path, case)
    (array / "c/1/1").unlink()
    with pytest.raises(AlterationError, match="wrote no object array/c/1/1"):
        alter(case, root)


def test_corrupt_cases_are_never_written_natively_nor_read_with_a_denied_chunk():
    case = catalogue()["v3/int16/shard/corrupt-index-truncated"]
    assert not access_applies(case, "forbidden-chunk") and access_applies(case, "anonymous")
    plan = make_plan(Selection(profile="stores", cases=("v3/int16/shard/corrupt-index-truncated",),
                               writers=("zarr-python@3.4.2",), write_mode="native", stores=("s3-moto",)))
    assert plan.cells and not any(c.native for c in plan.cells)


def test_a_refusal_passes_with_its_error_but_matches_no_failure_finding():
    facts = CellFacts.of({"case": "v2/int16/zlib/corrupt-unknown-codec", "reader": "jzarr@0.4.2",
                          "outcome": "pass", "message": "refused: Compressor id:'zc-no-such-codec' not supported"})
    assert facts.message == ""


@pytest.mark.adapters
def test_refused_accepted_and_unreadable(tmp_path, isolated_cache):
    """zarr-python refuses a truncated zstd chunk (pass), z5py reads a truncated raw chunk as if whole
    (mismatch: accepted corrupt data), and JZarr, which reads no zarr v3 at all, gets the outcome of the
    intact dataset (unsupported), not credit for refusing."""
    out = tmp_path / "run"
    proc = run_cli("run", "--writers", "zarr-python@3.4.2", "--readers", "zarr-python@3.4.2,z5py,jzarr",
                   "--cases", "v3/int16/zstd/corrupt-truncated,v3/int16/raw/corrupt-truncated", "--stores", "local",
                   "--out", out, "--no-findings", "--quiet")
    assert proc.returncode in (0, 1), proc.stderr
    got = {(r["reader"].split("@")[0], r["case"]): r for r in load_jsonl(out / "results.jsonl")}
    refused = got[("zarr-python", "v3/int16/zstd/corrupt-truncated")]
    assert refused["outcome"] == "pass" and refused["message"].startswith("refused the corrupt dataset: error:")
    accepted = got[("z5py", "v3/int16/raw/corrupt-truncated")]
    assert accepted["outcome"] == "mismatch" and accepted["diagnosis"].startswith("accepted corrupt data")
    unreadable = got[("jzarr", "v3/int16/zstd/corrupt-truncated")]
    assert unreadable["outcome"] == "unsupported"
    assert "does not read right either" in unreadable["message"]
    # The dataset is cached altered, with the writer's intact copy beside it for control reads.
    datasets = [p for p in (isolated_cache / "datasets").rglob("corrupt-truncated/*/pristine")]
    assert len(datasets) == 2



def test_byteswap_and_reencode_leave_the_values_as_they_were(tmp_path):
    import numpy as np

    case = catalogue()["v2/int32/raw/big-endian"]
    chunk = np.arange(8 * 13, dtype="<i4").tobytes()
    root, array = _dataset(tmp_path, case, chunk, {"zarr_format": 2, "dtype": "<i4", "compressor": None,
                                                   "filters": None})
    alter(case, root)
    assert json.loads((array / ".zarray").read_text())["dtype"] == ">i4"
    assert np.array_equal(np.frombuffer((array / "1.1").read_bytes(), ">i4"), np.arange(8 * 13))

    case = catalogue()["v3/int16/numcodecs.shuffle+numcodecs.zlib/edge"]
    chunk = np.arange(8 * 13, dtype="<i2").tobytes()
    root, array = _dataset(tmp_path / "b", case, chunk, {"zarr_format": 3, "codecs": [{"name": "bytes"}]})
    alter(case, root)
    meta = json.loads((array / "zarr.json").read_text())
    assert [c["name"] for c in meta["codecs"]] == ["bytes", "numcodecs.shuffle", "numcodecs.zlib"]
    shuffled = np.frombuffer(zlib.decompress((array / "c/1/1").read_bytes()), np.uint8)
    raw = shuffled.reshape(2, -1).T.tobytes()  # numcodecs' Shuffle undone: byte j of element i at j * n + i
    assert np.array_equal(np.frombuffer(raw, "<i2"), np.arange(8 * 13))


def test_fill_value_null_is_not_compared():
    from harness.reference import reference_array
    from harness.verify import check
    from zc_canonical import canonical_hash

    case = catalogue()["v2/int16/zstd/fill-null"]
    assert case.fill_value == 0 and case.read_fill_value is None  # written with 0, then spelled null
    h = canonical_hash(reference_array(case), case.dtype)
    resp = {"shape": list(case.shape), "dtype": "int16", "hash": h, "attributes": {}}
    assert check(case, h, {**resp, "fill_value": 0}).ok and check(case, h, {**resp, "fill_value": None}).ok
    assert not check(case, "0" * 64, {**resp, "fill_value": None}).ok
