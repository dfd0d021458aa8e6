"""The JavaScript adapters (zarrita.js, zarr.js) at the protocol level: built with `npm ci`
from their committed package-lock.json, hello with the real library version, write then
read back a small case, regions read through the library's selection (only the chunks they
touch), requests they cannot serve answered (not a crash), exact JSON integers, and the one-shot
CLI; zarr-js (npm zarr-js, freeman-lab), a reader only, on datasets the other two write and on
small ones made here. Skipped only when node or npm is not installed."""

import json
import shutil
import subprocess

import pytest

from harness.cases import catalogue
from harness.matrix import load_matrix
from harness.reference import ReferenceStore

from conftest import started_worker, write_case

pytestmark = pytest.mark.adapters

# impl -> (a case its library writes and reads, a case it cannot write, a format it cannot read)
JS = {
    "zarrita-js": ("v3/int16/zstd/sparse", "v3/int16/shard-16x14", "n5"),
    "zarr-js": ("v2/int16/zlib/sparse", "v3/int16/zstd/edge", "zarr3"),
}
IMPLS = [iv for iv in load_matrix().impl_versions() if iv.name in JS]


@pytest.fixture(scope="module", params=IMPLS, ids=lambda iv: iv.id)
def worker(request):
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (the JavaScript adapters need Node.js and npm)")
    yield from started_worker(request.param)


def test_matrix_lists_both_adapters():
    assert {iv.name for iv in IMPLS} == set(JS)


def test_hello_reports_the_real_version(worker):
    h = worker.hello
    assert h["protocol"] == 2 and h["impl"] == worker.impl.name
    assert set(h["verbs"]) == {"read", "write"} and h["language"] == "typescript"
    assert h["version"] == worker.impl.version  # read from the installed package.json
    assert h["components"]["node"]


def test_write_then_read_back(worker, tmp_path):
    case = catalogue()[JS[worker.impl.name][0]]
    refs = ReferenceStore(tmp_path / "ref")
    target = {"kind": "local", "path": str(tmp_path / "ds")}
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": target})
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert r["hash"] == refs.hash(case) and r["shape"] == list(case.shape) and r["dtype"] == case.dtype
    assert r["fill_value"] == case.fill_value
    assert (tmp_path / "dump.bin").read_bytes() == refs.canonical(case)
    # The missing chunks were left unwritten.
    if case.format == "zarr3":
        assert not (tmp_path / "ds" / case.path / "c" / "0" / "1").exists()
    else:
        assert not (tmp_path / "ds" / case.path / "0.1").exists()


def test_unservable_requests_are_answered(worker, tmp_path):
    _, cannot_write, cannot_read = JS[worker.impl.name]
    case = catalogue()[cannot_write]
    refs = ReferenceStore(tmp_path / "ref")
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and w["error"], w
    r = worker.request({"op": "read", "id": "r", "format": cannot_read, "path": "a",
                        "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "unsupported" and r["error"], r
    r = worker.request({"op": "read", "id": "r2", "format": "zarr2", "path": "missing",
                        "target": {"kind": "local", "path": str(tmp_path / "nothing-here")}})
    assert r["status"] == "error" and r["error"], r
    r = worker.request({"op": "read", "id": "r3", "format": "zarr2", "path": "a", "target": {"kind": "gopher"}})
    assert r["status"] == "unsupported", r
    assert worker.request({"op": "nonsense", "id": 7}) == {"id": 7, "status": "error",
                                                           "error": 'BadRequest: unknown op "nonsense"'}
    assert worker.alive()


def test_integers_beyond_2_53_are_not_rounded_by_the_adapter(worker, tmp_path):
    """The adapter hands the library the exact value; both libraries serialize metadata with
    JSON.stringify, which refuses BigInt, so the write is answered unsupported, not rounded."""
    case = catalogue()["v2/float32/zlib/nested-groups" if worker.impl.name == "zarr-js"
                       else "v3/int64/zstd/fill-i64big"]
    refs = ReferenceStore(tmp_path / "ref")
    w = worker.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                        "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and "BigInt" in w["error"], w


# --- regions (protocol 2) --------------------------------------------------------------------------


def test_protocol_library_region_tests():
    """readers/js-protocol/region.test.mjs: parsing and checking regions, BadRequest answers (node --test)."""
    if not shutil.which("node"):
        pytest.skip("node not installed")
    from harness.matrix import ROOT

    r = subprocess.run(["node", "--test", "region.test.mjs"], cwd=ROOT / "readers" / "js-protocol",
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _region_hash(case, region):
    from zc_canonical import canonical_hash

    from harness.reference import reference_array, region_slices

    return canonical_hash(reference_array(case)[region_slices(region)], case.dtype)


def _touched(region, chunks):
    """The chunk grid indices holding a selected element of a region."""
    import itertools

    return set(itertools.product(*[{i // c for i in range(a, b, s)} for (a, b, s), c in zip(region, chunks)]))


def _spoil_untouched(array_dir, case, region):
    """Overwrite every stored chunk the region does not touch with bytes no codec decodes: a reader that
    fetches or decodes one of them fails. Returns how many were spoiled."""
    touched = _touched(region, case.chunks)
    spoiled = 0
    pattern = "c/**/*" if case.format == "zarr3" else "*.*"
    for f in array_dir.glob(pattern):
        if not f.is_file() or f.name.startswith("."):
            continue
        key = f.relative_to(array_dir / "c").parts if case.format == "zarr3" else f.name.split(".")
        if tuple(map(int, key)) not in touched:
            f.write_bytes(b"\xff" * 24)
            spoiled += 1
    return spoiled


# A region across chunk boundaries of the 40x30 sparse cases (chunks 8x7): rows 9..22, every 4th
# column from 1 up to the edge chunk (29 of 30), with missing chunks inside.
SPARSE_REGION = [[9, 23, 1], [1, 30, 4]]


def test_a_region_reads_only_the_chunks_it_touches(worker, tmp_path):
    """zarrita's zarr.get / zarr.js's getRaw with slices (steps included) of the region: the chunks it
    does not touch are never decoded (they are spoiled here), while a whole read fails on them."""
    case = catalogue()[JS[worker.impl.name][0]]
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    assert _spoil_untouched(tmp_path / "ds" / case.path, case, SPARSE_REGION) > 0
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target,
                        "region": SPARSE_REGION, "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert (r["shape"], r["dtype"], r["fill_value"]) == ([14, 8], case.dtype, case.fill_value), r
    assert r["hash"] == _region_hash(case, SPARSE_REGION)
    whole = worker.request({"op": "read", "id": "w", "format": case.format, "path": case.path, "target": target})
    assert whole["status"] == "error", whole


def _bad_regions_are_bad_requests(worker, case, target):
    for region in ([[0, 0, 1], [0, 5, 1]], [[0, 5, 0], [0, 5, 1]], [[0, 5]], "0:5", [[0, 5, 1]],
                   [[0, 5, 1], [0, case.shape[1] + 1, 1]]):
        r = worker.request({"op": "read", "id": "bad", "format": case.format, "path": case.path, "target": target,
                            "region": region})
        assert r["status"] == "error" and r["error"].startswith("BadRequest: "), (region, r)
    assert worker.alive()


def _cli_region(worker, case, target, region):
    cmd = worker.environment.command
    r = subprocess.run([*cmd, "read", "--target-json", json.dumps(target), "--path", case.path, "--format", case.format,
                        "--region-json", json.dumps(region)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout)


def test_malformed_regions_are_bad_requests_and_the_cli_reads_a_region(worker, tmp_path):
    case = catalogue()[JS[worker.impl.name][0]]
    w, target, _ = write_case(worker, case, tmp_path)
    assert w["status"] == "ok", w
    _bad_regions_are_bad_requests(worker, case, target)
    region = [[39, 40, 1], [0, 30, 29]]  # the last row, first and last columns: an edge, step > 1
    got = _cli_region(worker, case, target, region)
    assert (got["shape"], got["hash"]) == ([1, 2], _region_hash(case, region)), got


@pytest.fixture(scope="module")
def zarr_python_writer():
    yield from _started("zarr-python@3.4.2")


def _shard_index(raw, n):
    """(offset, nbytes) of the n inner chunks of a shard whose index (uint64 pairs, then crc32c) is at the end."""
    import struct

    index = raw[-(16 * n + 4):-4]
    return [struct.unpack_from("<QQ", index, 16 * i) for i in range(n)]


def test_zarrita_reads_a_region_of_a_shard_decoding_only_its_inner_chunks(worker, zarr_python_writer, tmp_path):
    """A region inside one inner chunk of a shard (shards 16x14, inner chunks 8x7, written by zarr-python):
    zarrita reads it through the shard index, decoding neither the other shards nor the shard's other
    inner chunks (both spoiled here)."""
    if worker.impl.name != "zarrita-js":
        pytest.skip("zarrita.js only (zarr.js has no zarr v3)")
    case = catalogue()["v3/int16/shard-16x14"]
    w, target, _ = write_case(zarr_python_writer, case, tmp_path)
    assert w["status"] == "ok", w
    region = [[17, 24, 1], [14, 21, 3]]  # inside inner chunk (0, 0) of shard (1, 1): array rows 16..23, columns 14..20
    arr = tmp_path / "ds" / case.path
    r = worker.request({"op": "read", "id": "r", "format": "zarr3", "path": case.path, "target": target, "region": region})
    assert r["status"] == "ok" and r["hash"] == _region_hash(case, region), r
    for shard in (arr / "c").glob("*/*"):
        raw = bytearray(shard.read_bytes())
        if shard.relative_to(arr / "c").parts != ("1", "1"):
            shard.write_bytes(b"\xff" * len(raw))
            continue
        for i, (offset, nbytes) in enumerate(_shard_index(raw, 4)):
            if i and offset != 2**64 - 1:  # every stored inner chunk but (0, 0)
                raw[offset:offset + nbytes] = b"\xff" * nbytes
        shard.write_bytes(bytes(raw))
    r = worker.request({"op": "read", "id": "r", "format": "zarr3", "path": case.path, "target": target, "region": region})
    assert r["status"] == "ok" and r["hash"] == _region_hash(case, region), r
    assert worker.request({"op": "read", "id": "w", "format": "zarr3", "path": case.path, "target": target})["status"] == "error"


# impl -> (a float16 case, the root-array case) of the format its library writes
FORMAT_CASES = {
    "zarrita-js": ("v3/float16/zstd/fill-nan", "v3/int16/zstd/root"),
    "zarr-js": ("v2/float16/zlib/fill-nan", "v2/int16/zlib/root"),
}


def _round_trip(worker, case, tmp_path):
    w, target, refs = write_case(worker, case, tmp_path)
    assert w == {"id": "w", "status": "ok"}, w
    r = worker.request({"op": "read", "id": "r", "format": case.format, "path": case.path, "target": target})
    assert r["status"] == "ok", r
    assert (r["hash"], r["shape"], r["dtype"]) == (refs.hash(case), list(case.shape), case.dtype)
    return r, tmp_path / "ds"


def test_float16_through_the_polyfill_users_install(worker, tmp_path):
    """Both libraries support float16 where a global Float16Array exists; Node 20 has none, so the
    adapters install @petamoriken/float16 as the libraries' docs say (it was 'unsupported' before)."""
    case = catalogue()[FORMAT_CASES[worker.impl.name][0]]
    r, _ = _round_trip(worker, case, tmp_path)
    assert r["fill_value"] == "NaN"


def test_root_array_is_written_and_read_at_the_dataset_root(worker, tmp_path):
    """case.path "" is the array at the root: no group metadata above it (zarr.js refused to write it
    over the root group it had created first: 'ContainsGroupError: path  contains a group')."""
    case = catalogue()[FORMAT_CASES[worker.impl.name][1]]
    r, root = _round_trip(worker, case, tmp_path)
    assert r["attributes"] == case.attributes
    if case.format == "zarr2":
        assert (root / ".zarray").is_file() and not (root / ".zgroup").exists()
    else:
        assert json.loads((root / "zarr.json").read_text())["node_type"] == "array"


def test_zarr_js_has_the_numcodecs_codecs_its_users_register(worker, tmp_path):
    """zarr.js registers zlib, gzip and blosc itself; lz4 and zstd come from numcodecs.js (its own
    codec dependency) through zarr.addCodec, as its users add them (they were 'unsupported')."""
    if worker.impl.name != "zarr-js":
        pytest.skip("zarr.js only")
    _round_trip(worker, catalogue()["v2/uint32/lz4/edge"], tmp_path)


def _bundle(worker, case, tmp_path, writer=None):
    """A reproducer bundle made from the implementation's template (matrix.yaml `repro`) over a
    dataset the adapter (or `writer`, for a library that only reads) wrote: what `zarr-conformance
    repro` lays out, without a run."""
    from harness.repro import _expand, _render, _write_run_sh, check_points, repro_spec

    w, _, refs = write_case(writer or worker, case, tmp_path)
    assert w["status"] == "ok", w
    bundle = tmp_path / "bundle"
    shutil.copytree(tmp_path / "ds", bundle / "dataset")
    expected = {"format": case.format, "path": case.path, "shape": list(case.shape), "dtype": case.dtype,
                "fill_value": case.fill_value, "attributes": case.attributes, "checks": check_points(case, "")}
    (bundle / "expected.json").write_text(json.dumps(expected))
    template, cmd, env = repro_spec(worker.impl)
    reader = {"id": worker.impl.id, "version": worker.impl.version, "components": worker.hello["components"]}
    _render(template, bundle, {"expected": expected, "case": case.to_json(), "array_path": case.path,
                               "format": case.format, "reader": reader, "writer": reader, "finding": None})
    _write_run_sh(bundle, [_expand(c, worker.impl, bundle) for c in cmd], env)
    return bundle


def test_reproducer_template_says_ok_then_defect(worker, tmp_path):
    """The reproducer reads the dataset with the library alone: OK (exit 0) on a right dataset, DEFECT
    (exit 1) with the differing value once a stored value is changed."""
    case = catalogue()[JS[worker.impl.name][0]]
    bundle = _bundle(worker, case, tmp_path)
    ok = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "OK:" in ok.stdout, ok.stdout + ok.stderr
    # Lie about a value the script checks: the library still reads the dataset, the check must fail.
    expected = json.loads((bundle / "expected.json").read_text())
    expected["checks"][0]["value"] += 1
    (bundle / "expected.json").write_text(json.dumps(expected))
    bad = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "DEFECT:" in bad.stdout and "<- differs" in bad.stdout, bad.stdout + bad.stderr


# --- zarr-js (npm zarr-js, freeman-lab): a reader only -------------------------------------------

FREEMAN = [iv for iv in load_matrix().impl_versions() if iv.name == "zarr-js-freeman"]


def _started(iv_id):
    missing = [tool for tool in ("node", "npm") if not shutil.which(tool)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (the JavaScript adapters need Node.js and npm)")
    return started_worker(next(iv for iv in load_matrix().impl_versions() if iv.id == iv_id))


@pytest.fixture(scope="module")
def freeman():
    yield from _started(FREEMAN[0].id)


@pytest.fixture(scope="module")
def zarr_js_writer():
    yield from _started("zarr-js@0.6.3")


@pytest.fixture(scope="module")
def zarrita_writer():
    yield from _started("zarrita-js@0.7.5")


def _hash(values):
    import hashlib

    return "sha256:" + hashlib.sha256(values.astype(values.dtype.newbyteorder("<")).tobytes()).hexdigest()


def _v3_gzip_array(root, values, chunks):
    """A v3 array in the pre-final form zarr-js decodes (codecs [gzip], no bytes codec), chunk by
    chunk, edge chunks whole as v3 stores them."""
    import gzip

    import numpy as np

    root.mkdir(parents=True)
    meta = {"zarr_format": 3, "node_type": "array", "shape": list(values.shape), "data_type": "int16",
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunks)}},
            "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
            "fill_value": 0, "codecs": [{"name": "gzip", "configuration": {"level": 1}}], "attributes": {}}
    (root / "zarr.json").write_text(json.dumps(meta))
    grid = [-(-s // c) for s, c in zip(values.shape, chunks)]
    for idx in np.ndindex(*grid):
        block = np.zeros(chunks, dtype="<i2")
        part = values[tuple(slice(i * c, (i + 1) * c) for i, c in zip(idx, chunks))]
        block[tuple(slice(0, n) for n in part.shape)] = part
        path = root / "c" / "/".join(map(str, idx))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(gzip.compress(block.tobytes()))


def _v2_raw_array(root, meta, chunks):
    """A v2 array without a compressor: .zarray and the given chunk files (key -> element bytes)."""
    root.mkdir(parents=True)
    (root / ".zarray").write_text(json.dumps({"zarr_format": 2, "compressor": None, "filters": None, "order": "C",
                                              "dimension_separator": ".", **meta}))
    for key, raw in chunks.items():
        (root / key).write_bytes(raw)


def test_zarr_js_freeman_hello_says_it_only_reads(freeman, tmp_path):
    h = freeman.hello
    assert h["impl"] == "zarr-js-freeman" and h["language"] == "javascript" and h["verbs"] == ["read"]
    assert h["version"] == FREEMAN[0].version == "3.3.0"  # from the installed zarr-js package.json
    assert h["components"]["fflate"] and h["components"]["node"]
    case = catalogue()["v2/int16/zlib/edge"]
    refs = ReferenceStore(tmp_path / "ref")
    w = freeman.request({"op": "write", "id": "w", "case": case.to_json(), "data": str(refs.ensure(case)),
                         "target": {"kind": "local", "path": str(tmp_path / "ds")}})
    assert w["status"] == "unsupported" and "reader only" in w["error"], w
    assert not (tmp_path / "ds").exists()


def test_zarr_js_freeman_assembles_v3_chunks_it_can_decode(freeman, tmp_path):
    """zarr-js's v3 API is open() and get(chunk): the adapter reads every chunk and copies the part
    inside the array (edge chunks are whole chunks). On the pre-final form zarr-js decodes, the
    array comes out right, edges included."""
    import numpy as np

    values = (np.arange(5 * 7, dtype="<i2").reshape(5, 7) * 37 - 500).astype("<i2")
    _v3_gzip_array(tmp_path / "a", values, (2, 3))
    r = freeman.request({"op": "read", "id": "r", "format": "zarr3", "path": "a",
                         "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "ok", r
    assert (r["shape"], r["dtype"], r["fill_value"], r["hash"]) == ([5, 7], "int16", 0, _hash(values))


def test_zarr_js_freeman_error_thrown_outside_the_callback_is_the_reads_error(freeman, zarrita_writer, tmp_path):
    """zarr-js throws its decoding errors inside its request promise, so the callback never comes: the
    adapter answers the read with that error at once (not a timeout), and the next read is not
    blamed for anything the failed one left running."""
    import numpy as np

    case = catalogue()["v3/int16/zstd/sparse"]
    w, target, _ = write_case(zarrita_writer, case, tmp_path)
    assert w["status"] == "ok", w
    r = freeman.request({"op": "read", "id": "r", "format": "zarr3", "path": case.path, "target": target})
    assert r["status"] == "error", r
    assert r["error"].startswith("UnhandledRejection:") and "ReferenceError: compressor is not defined" in r["error"], r
    values = np.arange(4 * 6, dtype="<i2").reshape(4, 6)
    _v3_gzip_array(tmp_path / "ok", values, (2, 3))
    r = freeman.request({"op": "read", "id": "r2", "format": "zarr3", "path": "ok",
                         "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "ok" and r["hash"] == _hash(values), r
    assert freeman.alive()


def test_zarr_js_freeman_codecs_it_lacks_are_unsupported(freeman, zarr_js_writer, tmp_path):
    case = catalogue()["v2/int32/blosc-lz4-shuffle/3d"]
    w, target, _ = write_case(zarr_js_writer, case, tmp_path)
    assert w["status"] == "ok", w
    r = freeman.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target})
    assert r["status"] == "unsupported" and "compressor blosc is not supported" in r["error"], r


def test_zarr_js_freeman_plain_array_results(freeman, tmp_path):
    """Where zarr-js returns a plain JS Array (bool arrays; an array whose first chunk is missing), its
    elements are converted only when they are of the array's JS type: the string "NaN" that a "NaN"
    fill value becomes in zarr-js is reported, not turned into a number."""
    import numpy as np

    flags = (np.arange(4 * 6).reshape(4, 6) % 3 == 0)
    chunk = lambda a: np.ascontiguousarray(a).tobytes()  # noqa: E731
    _v2_raw_array(tmp_path / "b", {"shape": [4, 6], "chunks": [2, 3], "dtype": "|b1", "fill_value": False},
                  {f"{i}.{j}": chunk(flags[2 * i:2 * i + 2, 3 * j:3 * j + 3].astype("u1")) for i in (0, 1) for j in (0, 1)})
    r = freeman.request({"op": "read", "id": "r", "format": "zarr2", "path": "b",
                         "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "ok" and r["dtype"] == "bool" and r["hash"] == _hash(flags.astype("u1")), r
    ones = np.full((2, 3), 1.5, dtype="<f8")
    _v2_raw_array(tmp_path / "f", {"shape": [4, 3], "chunks": [2, 3], "dtype": "<f8", "fill_value": "NaN"},
                  {"1.0": chunk(ones)})
    r = freeman.request({"op": "read", "id": "r", "format": "zarr2", "path": "f",
                         "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "error" and r["error"].startswith("ResultError:") and '"NaN" (string)' in r["error"], r


def test_zarr_js_freeman_reproducer_says_ok_then_defect(freeman, zarr_js_writer, tmp_path):
    """Its reproducer template reads a dataset with zarr-js alone: OK on a v2 array it reads right
    (missing chunks included), DEFECT once a checked value is changed."""
    bundle = _bundle(freeman, catalogue()["v2/int16/zlib/sparse"], tmp_path, writer=zarr_js_writer)
    ok = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "OK:" in ok.stdout, ok.stdout + ok.stderr
    expected = json.loads((bundle / "expected.json").read_text())
    expected["checks"][0]["value"] += 1
    (bundle / "expected.json").write_text(json.dumps(expected))
    bad = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "DEFECT:" in bad.stdout and "<- differs" in bad.stdout, bad.stdout + bad.stderr


def test_zarr_js_freeman_reads_a_v2_region_from_the_chunks_it_touches(freeman, zarr_js_writer, tmp_path):
    """A v2 region: open() and get() of only the chunks holding a selected element (the others are
    spoiled here; missing ones are the fill value), the selected elements copied out of them."""
    case = catalogue()["v2/int16/zlib/sparse"]
    w, target, _ = write_case(zarr_js_writer, case, tmp_path)
    assert w["status"] == "ok", w
    assert _spoil_untouched(tmp_path / "ds" / case.path, case, SPARSE_REGION) > 0
    r = freeman.request({"op": "read", "id": "r", "format": "zarr2", "path": case.path, "target": target,
                         "region": SPARSE_REGION, "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert (r["shape"], r["dtype"], r["fill_value"]) == ([14, 8], "int16", case.fill_value), r
    assert r["hash"] == _region_hash(case, SPARSE_REGION)
    whole = freeman.request({"op": "read", "id": "w", "format": "zarr2", "path": case.path, "target": target})
    assert whole["status"] == "error", whole
    _bad_regions_are_bad_requests(freeman, case, target)


def test_zarr_js_freeman_reads_v3_regions(freeman, tmp_path):
    """v3 (the pre-final form zarr-js decodes): a strided 2-d region up to the edges, inside edge chunks
    stored whole, and a 1-d region."""
    import numpy as np

    values = (np.arange(5 * 7, dtype="<i2").reshape(5, 7) * 37 - 500).astype("<i2")
    _v3_gzip_array(tmp_path / "a", values, (2, 3))
    for region in ([[1, 5, 2], [2, 7, 2]], [[4, 5, 1], [6, 7, 1]], [[0, 5, 1], [0, 7, 1]]):
        r = freeman.request({"op": "read", "id": "r", "format": "zarr3", "path": "a", "region": region,
                             "target": {"kind": "local", "path": str(tmp_path)}})
        want = values[tuple(slice(*t) for t in region)]
        assert r["status"] == "ok" and r["shape"] == list(want.shape) and r["hash"] == _hash(want), (region, r)
    line = np.arange(11, dtype="<i2") * 3
    _v3_gzip_array(tmp_path / "line", line, (4,))
    r = freeman.request({"op": "read", "id": "r", "format": "zarr3", "path": "line", "region": [[2, 11, 3]],
                         "target": {"kind": "local", "path": str(tmp_path)}})
    assert r["status"] == "ok" and r["shape"] == [3] and r["hash"] == _hash(line[2:11:3]), r
