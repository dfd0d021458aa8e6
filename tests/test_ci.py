"""`zarr-conformance ci`: configuration errors exit 2 with the build's own error; a new
implementation joins through an overlay; and, on real libraries (the released source from its
registry, built as a dev build), an unmodified build passes while a defect put into a copy is named
in both directions."""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import FAKE_MATRIX, ROOT, run_cli

SMALL = ["--cases", "v3/int16/zstd/edge,v3/float64/zstd/edge", "--stores", "local", "--no-findings", "-j", "2"]


def test_unknown_target_is_a_configuration_error(tmp_path):
    proc = run_cli("ci", "--target", "zarr-pyhton@dev", "--source", tmp_path, "--out", tmp_path / "run")
    assert proc.returncode == 2 and "did you mean 'zarr-python'" in proc.stderr
    proc = run_cli("ci", "--target", "zarr-python@dev", "--out", tmp_path / "run")
    assert proc.returncode == 2 and "--source" in proc.stderr


def test_a_bad_overlay_is_a_configuration_error(tmp_path):
    overlay = tmp_path / "overlay.yaml"
    overlay.write_text("implementations: [oops\n")
    proc = run_cli("ci", "--target", "mine@1", "--overlay", overlay, "--out", tmp_path / "run")
    assert proc.returncode == 2 and "not valid YAML" in proc.stderr
    overlay.write_text(yaml_text({"implementations": {"mine": {"language": "pyhton", "versions": {"1": {}}}}}))
    proc = run_cli("ci", "--target", "mine@1", "--overlay", overlay, "--out", tmp_path / "run")
    assert proc.returncode == 2 and "language" in proc.stderr


def test_a_broken_build_exits_2_with_the_builds_own_error(tmp_path):
    src = tmp_path / "zarr"
    src.mkdir()
    (src / "pyproject.toml").write_text('[project]\nname = "zarr"\nversion = "9.9.9"\n[build-system]\n'
                                        'requires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n')
    (src / "setup.py").write_text("raise SystemExit('this dev build is broken on purpose')\n")
    proc = run_cli("ci", "--target", "zarr-python@dev", "--source", src, "--out", tmp_path / "run", *SMALL)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "does not build" in proc.stderr and "broken on purpose" in proc.stderr


def yaml_text(data) -> str:
    import yaml

    return yaml.safe_dump(data)


def test_a_new_implementation_joins_through_an_overlay(tmp_path):
    """It adds to the standard matrix (here the fakes') instead of replacing it."""
    overlay = tmp_path / "overlay.yaml"
    fake = str(ROOT / "tests" / "fixtures" / "fake_adapter.py")
    for mode, status in (("good", 0), ("transpose", 1)):
        overlay.write_text(yaml_text({"implementations": {"newcomer": {
            "language": "python", "adapter": "command", "command": ["{python}", fake, "--mode", mode],
            "timeout": 5, "versions": {"1": {}}}}}))
        out = tmp_path / mode
        proc = run_cli("--matrix", FAKE_MATRIX, "ci", "--target", "newcomer@1", "--overlay", overlay,
                       "--baseline", "none", "--out", out, "--cases", "v2/int16/zlib/edge,v3/uint16/zstd/3d",
                       "--writers", "fake", "--readers", "fake", "--no-findings")
        assert proc.returncode == status, proc.stdout + proc.stderr
        result = json.loads((out / "ci.json").read_text())
        assert result["cells"] == 2 * 3  # 2 cases x (read by fake, reading fake, its own round trip)
        if status:
            assert any(c.startswith("fake@good/v2/int16/zlib/edge/local/newcomer@1") for c in result["new_failures"])
            assert "transposed" in (out / "ci-summary.md").read_text()


def test_the_baseline_is_kept_while_its_inputs_hold(tmp_path, isolated_cache):
    """The released version's cells are read once; a second run with the same inputs reads only the
    target's and comes to the same verdict; `fresh` reads them again; changed inputs read them again."""
    overlay = tmp_path / "overlay.yaml"
    fake = str(ROOT / "tests" / "fixtures" / "fake_adapter.py")

    def versions(released_mode):
        return {"implementations": {"newcomer": {
            "language": "python", "adapter": "command", "timeout": 5, "versions": {
                "1": {"command": ["{python}", fake, "--mode", released_mode]},
                "2": {"command": ["{python}", fake, "--mode", "transpose"]}}}}}

    def ci(name, *extra):
        out = tmp_path / name
        proc = run_cli("--matrix", FAKE_MATRIX, "ci", "--target", "newcomer@2", "--base", "1", "--overlay", overlay,
                       "--out", out, "--cases", "v2/int16/zlib/edge,v3/uint16/zstd/3d", "--writers", "fake",
                       "--readers", "fake", "--no-findings", *extra)
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the target transposes: regressions
        read = {tuple(json.loads(line)[k] for k in ("writer", "reader")) for line in
                (out / "results.jsonl").read_text().splitlines()}
        return proc, json.loads((out / "ci.json").read_text()), read

    def base_only(read):  # the released version's cells alone
        return [pair for pair in read if "newcomer@2" not in pair]

    overlay.write_text(yaml_text(versions("good")))
    first, result1, read1 = ci("first")
    assert "kept from a run" not in first.stderr
    assert base_only(read1)
    kept = list((isolated_cache / "ci-baselines").glob("newcomer_1-*.json.gz"))
    assert len(kept) == 1
    second, result2, read2 = ci("second")
    assert "the baseline (6 cells of newcomer@1) is kept from a run with the same inputs" in second.stderr
    assert not base_only(read2)  # only the target's cells were read
    assert sorted(result2["regressions"]) == sorted(result1["regressions"]) and result2["cells"] == result1["cells"]
    assert result1["regressions"]
    third, _, read3 = ci("fresh", "--baseline", "fresh")
    assert "kept from a run" not in third.stderr and base_only(read3)
    # The released version's adapter changed (its command): read again, and only the newest is kept.
    overlay.write_text(yaml_text(versions("lenient")))
    fourth, _, read4 = ci("changed")
    assert "kept from a run" not in fourth.stderr and base_only(read4)
    assert len(list((isolated_cache / "ci-baselines").glob("newcomer_1-*.json.gz"))) == 1


def test_only_this_machines_circumstances_keep_a_baseline_from_being_kept():
    from harness.ci import _circumstantial

    def skipped(message):
        return _circumstantial({"outcome": "skipped", "message": message})

    assert skipped("reader gdal@3.6.2 not available: adapter does not start")
    assert skipped("no dataset: writer a@1 answered skipped: writer a@1 not available: no toolchain")
    assert skipped("store s3-minio not available: not started")
    assert _circumstantial({"outcome": "timeout", "message": "no answer within 60 s"})
    # A library's own words are a verdict, not a circumstance.
    assert not skipped("no dataset: writer zarr-python@2.13.6-debian answered error: ValueError: codec not available: "
                       "'fletcher32'")
    assert not _circumstantial({"outcome": "error", "message": "reader x not available: y"})


# --- real libraries --------------------------------------------------------------------------------

def _sh(cmd, **kw):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, **kw)
    assert proc.returncode == 0, f"{cmd}: {proc.stderr[-2000:]}"
    return proc


def _ci(tmp_path, name, target, source, others):
    out = tmp_path / name
    proc = run_cli("ci", "--target", target, "--source", source, "--out", out, "--writers", others,
                   "--readers", others, *SMALL, timeout=3600)
    return proc, out


def _check_clean_and_defect(tmp_path, target, clean, defective, others):
    proc, out = _ci(tmp_path, "clean", target, clean, others)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Nothing regressed" in (out / "ci-summary.md").read_text()
    proc, out = _ci(tmp_path, "defect", target, defective, others)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = (out / "ci-summary.md").read_text()
    result = json.loads((out / "ci.json").read_text())
    as_writer = [c for c in result["regressions"] if c.startswith(target + "/")]
    as_reader = [c for c in result["regressions"] if c.endswith("/" + target)]
    assert as_writer and as_reader, text
    assert "| as writer |" in text and "| as reader |" in text and "byte-swapped" in text
    assert "zarr-conformance repro" in text


@pytest.mark.slow
def test_python_dev_build_of_zarr_python(tmp_path):
    _sh([sys.executable, "-m", "pip", "download", "zarr==3.1.6", "--no-binary", ":all:", "--no-deps", "-q",
         "-d", str(tmp_path)])
    sdist = next(tmp_path.glob("zarr-3.1.6.tar.gz"))
    src = tmp_path / "zarr-defect"
    shutil.unpack_archive(sdist, tmp_path)
    (tmp_path / "zarr-3.1.6").rename(src)
    codec = src / "src" / "zarr" / "codecs" / "bytes.py"
    text = codec.read_text()
    # The defect: the bytes codec reads and writes the other byte order.
    text = text.replace("endian_str = self.endian.value if self.endian is not None else None",
                        'endian_str = {"little": "big", "big": "little"}[self.endian.value] if self.endian is not None else None')
    text = text.replace("        nd_array = chunk_array.as_ndarray_like()\n",
                        "        nd_array = chunk_array.as_ndarray_like()\n"
                        "        if nd_array.dtype.itemsize > 1:\n            nd_array = nd_array.byteswap()\n")
    assert text.count("byteswap()") == 1 and '"little": "big"' in text
    codec.write_text(text)
    _check_clean_and_defect(tmp_path, "zarr-python@dev", sdist, src, "zarrita-js,zarr-python@3.1.6")


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("npm") and not os.environ.get("CI"), reason="npm not installed")
def test_javascript_dev_build_of_zarrita(tmp_path):
    _sh(["npm", "pack", "zarrita@0.7.5", "--pack-destination", str(tmp_path), "--silent"])
    tarball = tmp_path / "zarrita-0.7.5.tgz"
    work = tmp_path / "unpacked"
    work.mkdir()
    _sh(["tar", "xzf", str(tarball), "-C", str(work)])
    codec = work / "package" / "dist" / "src" / "codecs" / "bytes.js"
    text = codec.read_text()
    assert text.count('this.#endian === "big"') == 2
    codec.write_text(text.replace('this.#endian === "big"', 'this.#endian !== "big"'))  # the defect
    defect_dir = tmp_path / "defect"
    defect_dir.mkdir()
    _sh(["npm", "pack", str(work / "package"), "--pack-destination", str(defect_dir), "--silent"])
    defect = next(defect_dir.glob("*.tgz"))
    _check_clean_and_defect(tmp_path, "zarrita-js@dev", tarball, defect, "zarr-python@3.1.6,zarrita-js@0.7.5")


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("cargo") and not os.environ.get("CI"), reason="cargo not installed")
def test_rust_dev_build_of_zarrs(tmp_path):
    meta = json.loads(_sh(["cargo", "metadata", "--manifest-path", str(ROOT / "readers" / "zarrs-rs" / "Cargo.toml"),
                           "--format-version", "1", "--locked"]).stdout)
    crate = Path(next(p["manifest_path"] for p in meta["packages"] if p["name"] == "zarrs")).parent
    clean = tmp_path / "zarrs-clean"
    shutil.copytree(crate, clean)
    defect = tmp_path / "zarrs-defect"
    shutil.copytree(crate, defect)
    codec = defect / "src" / "array" / "codec" / "array_to_bytes" / "bytes" / "bytes_codec.rs"
    text = codec.read_text()
    flipped = ("self.endian.map(|e| match e { Endianness::Little => Endianness::Big, "
               "Endianness::Big => Endianness::Little })")
    assert text.count(".encode(bytes, self.endian)") == 1 and text.count(".decode(bytes, self.endian)") == 1
    text = text.replace(".encode(bytes, self.endian)", f".encode(bytes, {flipped})")
    codec.write_text(text.replace(".decode(bytes, self.endian)", f".decode(bytes, {flipped})"))  # the defect
    _check_clean_and_defect(tmp_path, "zarrs@dev", clean, defect, "zarr-python@3.1.6,zarrs@0.23.14")
