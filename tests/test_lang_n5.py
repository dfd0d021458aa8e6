"""The N5 libraries of the Python adapter, zarr-n5 and pyn5, on what the contract test does not
cover: the axis order each presents and the view the protocol compares (docs/protocol.md, "N5
axis order"), what pyn5 writes as others read it, and the shared adapter code on pyn5's Python
3.8 with numpy 1.24 (its wheels are for CPython 3.8 only)."""

import json
import subprocess
import textwrap

import pytest

from harness.cases import catalogue
from harness.environments import setup
from harness.matrix import load_matrix
from harness.reference import ReferenceStore, reference_array
from conftest import ROOT, started_worker, write_case

pytestmark = pytest.mark.adapters


def _iv(name):
    (iv,) = load_matrix().resolve_impls([name], "reader")
    return iv


def _worker(name):
    yield from started_worker(_iv(name))


@pytest.fixture(scope="module")
def z5py():
    yield from _worker("z5py")


@pytest.fixture(scope="module")
def zarr_n5():
    yield from _worker("zarr-n5")


@pytest.fixture(scope="module")
def pyn5():
    yield from _worker("pyn5")


def _python(name) -> str:
    return setup(_iv(name), log=lambda *a: None).command[0]


def test_the_n5_libraries_are_limited_to_n5():
    for name in ("zarr-n5", "pyn5"):
        iv = _iv(name)
        assert iv.spec.formats == ["n5"] and iv.uses_format("n5") and not iv.uses_format("zarr3")


def test_zarr_n5_presents_n5_order_and_the_adapter_answers_the_reversed_view(z5py, zarr_n5, tmp_path):
    """zarr-n5 itself gives N5's own order (the shape is attributes.json's `dimensions`); the
    adapter answers its transpose, which is the case's view, with the right data."""
    case = catalogue()["n5/int32/gzip/3d"]
    w, target, refs = write_case(z5py, case, tmp_path)
    assert w["status"] == "ok", w
    dims = json.loads((tmp_path / "ds" / "array" / "attributes.json").read_text())["dimensions"]
    assert dims == list(case.shape)[::-1]
    script = textwrap.dedent("""
        import json, sys, zarr
        from zarr_n5 import ImplicitGroupWrapperStore, N5WrapperStore
        store = ImplicitGroupWrapperStore(N5WrapperStore(zarr.storage.LocalStore(sys.argv[1], read_only=True)))
        arr = zarr.open_array(store=store, path="array", mode="r")
        print(json.dumps({"shape": list(arr.shape), "first_row": arr[:, 0, 0].tolist()}))
    """)
    proc = subprocess.run([_python("zarr-n5"), "-c", script, str(tmp_path / "ds")], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr
    own = json.loads(proc.stdout)
    assert own["shape"] == dims
    r = zarr_n5.request({"op": "read", "format": "n5", "path": case.path, "target": target,
                         "dump": str(tmp_path / "dump.bin")})
    assert r["status"] == "ok", r
    assert (r["shape"], r["hash"]) == (list(case.shape), refs.hash(case))
    # N5's first axis is the case's last: the library's arr[:, 0, 0] is the reference's [0, 0, :]
    assert own["first_row"] == reference_array(case)[0, 0, :].tolist()


def test_zarr_n5_leaves_out_its_bookkeeping_attribute_only(z5py, zarr_n5, tmp_path):
    case = catalogue()["n5/float32/gzip/nested-groups"]
    w, target, refs = write_case(z5py, case, tmp_path)
    assert w["status"] == "ok", w
    r = zarr_n5.request({"op": "read", "format": "n5", "path": case.path, "target": target})
    assert r["status"] == "ok" and r["hash"] == refs.hash(case), r
    assert r["attributes"] == case.attributes  # "_n5" (zarr-n5's copy of attributes.json) is left out


def test_zarr_n5_says_unsupported_with_its_own_text(z5py, zarr_n5, tmp_path):
    case = catalogue()["n5/int64/xz/edge"]
    w, target, _ = write_case(z5py, case, tmp_path)
    assert w["status"] == "ok", w
    r = zarr_n5.request({"op": "read", "format": "n5", "path": case.path, "target": target})
    assert r["status"] == "unsupported" and "unsupported codec with type xz" in r["error"], r


def test_pyn5_writes_what_z5py_reads(pyn5, z5py, tmp_path):
    """pyn5's h5py-like API is in the reversed (C-order) view: what it writes has the case's
    dimensions reversed in attributes.json, and raw compression is written as raw (pyn5's default
    without a compression is gzip)."""
    for cid in ("n5/int16/raw/edge", "n5/int16/gzip/sparse", "n5/uint8/bzip2/edge"):
        case = catalogue()[cid]
        w, target, refs = write_case(pyn5, case, tmp_path, name=cid.replace("/", "_"))
        assert w["status"] == "ok", w
        meta = json.loads((tmp_path / cid.replace("/", "_") / "array" / "attributes.json").read_text())
        assert meta["dimensions"] == list(case.shape)[::-1] and meta["blockSize"] == list(case.chunks)[::-1]
        assert meta["compression"]["type"] == case.compression["type"]
        for worker in (z5py, pyn5):
            r = worker.request({"op": "read", "format": "n5", "path": case.path, "target": target})
            assert r["status"] == "ok" and r["hash"] == refs.hash(case), (worker.impl.id, r)
    # a missing chunk of the sparse case is not written
    sparse = catalogue()["n5/int16/gzip/sparse"]
    i, j = sparse.missing_chunks[0]
    blocks = tmp_path / "n5_int16_gzip_sparse" / "array"
    assert (blocks / "0" / "0").is_file() and not (blocks / str(j) / str(i)).exists()


def test_pyn5_refuses_with_the_library_text(pyn5, tmp_path):
    w, _, _ = write_case(pyn5, catalogue()["n5/int64/xz/edge"], tmp_path, name="xz")
    assert w["status"] == "unsupported" and "Unknown compression type 'xz'" in w["error"], w
    w, _, _ = write_case(pyn5, catalogue()["n5/int16/gzip/root"], tmp_path, name="root")
    assert w["status"] == "unsupported" and "container root" in w["error"], w
    r = pyn5.request({"op": "read", "format": "n5", "path": "array",
                      "target": {"kind": "s3", "bucket": "b", "key": "k", "endpoint": "http://127.0.0.1:9"}})
    assert r["status"] == "unsupported" and "local file system only" in r["error"], r


# The shared adapter code and zc_canonical under pyn5's interpreter: Python 3.8 syntax and library
# (no str.removeprefix, no PEP 604 unions outside annotations...) and numpy 1.24 (no StringDType).
CANONICAL_38 = textwrap.dedent("""
    import json, sys
    import numpy as np
    import zc_canonical as canonical
    import zc_adapter.protocol, zc_adapter.chunks
    assert sys.version_info[:2] == (3, 8), sys.version
    vectors = json.load(open(sys.argv[1]))
    done = 0
    for v in vectors["arrays"]:
        dtype, shape = v["dtype"], tuple(v["shape"])
        if dtype == "string":
            arr = np.empty(len(v["input"]["values"]), dtype=object)
            arr[:] = v["input"]["values"]
            arr = arr.reshape(shape)
        elif dtype.startswith("U"):
            arr = np.array(v["input"]["values"], dtype=canonical.numpy_dtype(dtype)).reshape(shape)
        else:
            arr = np.frombuffer(bytes.fromhex(v["input"]["hex"]), dtype=canonical.numpy_dtype(dtype)).reshape(shape)
        for form in (arr, np.asfortranarray(arr)):
            assert canonical.canonical_hash(form, dtype) == v["hash"], v["name"]
        done += 1
    print(done, np.__version__)
""")


def test_the_shared_adapter_code_runs_on_python_38(pyn5, tmp_path):
    assert pyn5.hello["version"] == "1.1.1" and pyn5.hello["components"]["numpy"].startswith("1.24.")
    proc = subprocess.run([_python("pyn5"), "-c", CANONICAL_38, str(ROOT / "canonical" / "vectors" / "vectors.json")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    done, numpy_version = proc.stdout.split()
    assert int(done) == len(json.loads((ROOT / "canonical" / "vectors" / "vectors.json").read_text())["arrays"])
    assert numpy_version.startswith("1.24.")
    # the one-shot command line on the same interpreter
    refs = ReferenceStore(tmp_path / "ref")
    case = catalogue()["n5/int32/gzip/3d"]
    (tmp_path / "case.json").write_text(json.dumps(case.to_json()))
    target = json.dumps({"kind": "local", "path": str(tmp_path / "ds")})
    cmd = pyn5.environment.command
    w = subprocess.run([*cmd, "write", "--case-json", f"@{tmp_path / 'case.json'}", "--data", str(refs.ensure(case)),
                        "--target-json", target], capture_output=True, text=True, timeout=120)
    assert json.loads(w.stdout)["status"] == "ok", w.stderr
