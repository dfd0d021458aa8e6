"""One plan of cells: `run` reads exactly the cells `pytest --zc` collects, for every profile."""

import subprocess
import sys

import pytest

from harness.matrix import ConfigError, load_matrix
from harness.plan import PlannedCell, Selection, access_applies, has_stored_chunk, make_plan
from harness.cases import catalogue
from harness.findings import Findings
from harness.results import load_jsonl
from conftest import FAKE_MATRIX, ROOT, run_cli


def collected(tmp_path, *args) -> list[str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           "--zc", "--collect-only", "-q", *args, str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return [line.split("::", 1)[1] for line in proc.stdout.splitlines() if line.startswith("::")]


def cell_id(rec: dict) -> str:
    suffix = f"[{rec['access']}]" if rec.get("access", "signed") != "signed" else ""
    return f"{rec['writer']}/{rec['case']}/{rec['store']}/{rec['reader']}{suffix}"


def test_run_reads_exactly_what_pytest_collects(tmp_path):
    """Skipped cells included: a store that is not there and a case a writer does not write are
    recorded, never dropped."""
    args = ["--profile", "smoke", "--stores", "local,s3-moto,s3-minio", "--writers", "fake,fake-noread-v3",
            "--readers", "fake,fake-transpose", "--cases", "v2/int16/zlib/edge,v3/int16/zstd/sparse,n5/int16/raw/edge"]
    out = tmp_path / "run"
    run_cli("--matrix", FAKE_MATRIX, "run", *args, "--out", out, "--no-findings", "--quiet",
            env={"ZC_TOOLS": str(tmp_path / "no-tools")})  # MinIO absent: its cells are skipped
    ran = sorted(cell_id(r) for r in load_jsonl(out / "results.jsonl"))
    zc = ["--zc-matrix", str(FAKE_MATRIX), "--zc-profile", "smoke", "--zc-stores", "local,s3-moto,s3-minio",
          "--zc-writers", "fake,fake-noread-v3", "--zc-readers", "fake,fake-transpose",
          "--zc-cases", "v2/int16/zlib/edge,v3/int16/zstd/sparse,n5/int16/raw/edge"]
    items = sorted(collected(tmp_path, *zc))
    assert ran == items and len(ran) == len(set(ran))
    plan = make_plan(Selection(matrix=str(FAKE_MATRIX), profile="smoke", stores=("local", "s3-moto", "s3-minio"),
                               writers=("fake", "fake-noread-v3"), readers=("fake", "fake-transpose"),
                               cases=("v2/int16/zlib/edge", "v3/int16/zstd/sparse", "n5/int16/raw/edge")))
    assert sorted(c.test_id for c in plan.cells) == ran
    minio = [r for r in load_jsonl(out / "results.jsonl") if r["store"] == "s3-minio"]
    assert minio and all(r["outcome"] == "skipped" for r in minio)


@pytest.mark.parametrize("profile", list(load_matrix().profiles))
def test_pytest_collects_the_plan_of_every_profile(tmp_path, profile):
    """The project's own matrix: pytest's items are the plan's cells (one writer and one reader, to keep
    it quick: the selection narrows the plan the same way for both)."""
    writer, reader = "zarr-python@3.1.6", "gdal"
    plan = make_plan(Selection(profile=profile, writers=(writer,), readers=(reader,)))
    items = collected(tmp_path, "--zc-profile", profile, "--zc-writers", writer, "--zc-readers", reader)
    assert items == [c.test_id for c in plan.cells]
    # the profile's access modes are honoured (the old plugin read every mode of every store)
    prof = load_matrix().profiles[profile]
    if prof.access:
        assert {c.access for c in plan.cells} <= set(prof.access)


def test_access_modes_read_the_store_sensitive_cases_with_a_chunk_to_deny():
    cat = catalogue()
    assert access_applies(cat["v2/int16/zlib/edge"], "signed")
    assert not access_applies(cat["v2/int16/zlib/edge"], "anonymous")
    assert access_applies(cat["v3/int16/zstd/sparse"], "forbidden-chunk")
    # every chunk missing: nothing to deny, so forbidden-chunk says nothing about it
    assert not has_stored_chunk(cat["v3/int16/zstd/all-missing"])
    assert not access_applies(cat["v3/int16/zstd/all-missing"], "forbidden-chunk")
    assert access_applies(cat["v3/int16/zstd/all-missing"], "anonymous-nolist")


def test_default_reads_the_store_sensitive_cases_remotely_and_every_case_from_local_disk():
    plan = make_plan(Selection(profile="default"))
    where = {}
    for c in plan.cells:
        where.setdefault(c.case.id, set()).add(c.store)
    assert where["v2/int16/zlib/edge"] == {"local"}  # a codec decodes the same from any store
    assert where["v3/int16/shard-16x14"] == {"local", "s3-moto"}  # shards: range requests
    assert where["v2/int16/zlib/sparse"] == {"local", "s3-moto"}  # missing chunks: what a store answers
    # Stores named on the command line read every case, as the stores and full profiles do.
    named = make_plan(Selection(profile="default", stores=("local", "s3-moto"), cases=("v2/int16/zlib/edge",)))
    assert {c.store for c in named.cells} == {"local", "s3-moto"}
    assert {c.store for c in make_plan(Selection(profile="stores", cases=("v2/int16/zlib/edge",))).cells} > {"local"}


def test_planned_cell_ids_name_native_writes_as_a_store_of_their_own():
    plan = make_plan(Selection(matrix=str(FAKE_MATRIX), stores=("local", "s3-moto"), writers=("fake",),
                               readers=("fake",), cases=("v2/int16/zlib/edge",), write_mode="native"))
    ids = {c.test_id for c in plan.cells}
    assert "fake@good/v2/int16/zlib/edge/s3-moto+native-write/fake@good" in ids
    assert all(isinstance(c, PlannedCell) for c in plan.cells)


def test_cells_involving_one_implementation_in_both_directions():
    sel = dict(profile="default", cases=("v2/int16/zlib/edge", "v3/int16/zstd/sparse"))
    full = make_plan(Selection(**sel))
    target = "zarrita-js@0.7.5"
    plan = make_plan(Selection(**sel, involving=(target,)))
    as_writer = [c for c in plan.cells if c.writer.id == target]
    as_reader = [c for c in plan.cells if c.reader.id == target]
    n_impls = len(full.readers)
    per_case = {c.case.id: sum(1 for x in full.cells if x.case.id == c.case.id and x.writer.id == x.reader.id == target)
                for c in plan.cells}
    # every reader reads what the target writes, the target reads what every writer writes
    assert len(as_writer) == sum(1 for c in full.cells if c.writer.id == target)
    assert len(as_reader) == sum(1 for c in full.cells if c.reader.id == target)
    assert {c.reader.id for c in as_writer} == {r.id for r in full.readers}
    assert {c.writer.id for c in as_reader} == {w.id for w in full.writers}
    # the round trip is in both: counted once in the plan
    round_trip = [c for c in plan.cells if c.writer.id == c.reader.id == target]
    assert round_trip and len(plan.cells) == len(as_writer) + len(as_reader) - len(round_trip)
    assert n_impls > 1 and per_case
    with pytest.raises(Exception, match="unknown target"):
        make_plan(Selection(**sel, involving=("zarrita-js@9",)))


def test_a_version_limited_to_some_stores_has_cells_only_there():
    """`stores:` on a version (a code path that only reaches remote stores): as a reader it reads only
    those stores; as a writer it writes no dataset on disk without `local`, and natively only into its S3
    stores. Its other cells are not in the plan; named for a run where it has none, it is a usage error."""
    cases = ("v2/int16/zlib/edge", "v3/int16/zstd/sparse")
    sel = dict(matrix=str(FAKE_MATRIX), profile="smoke", cases=cases)
    remote = "fake-remote@1-remote"
    plan = make_plan(Selection(**sel, stores=("local", "s3-moto", "s3-minio", "gcs"), writers=("fake",),
                               readers=("fake", remote)))
    limited = [c for c in plan.cells if c.reader.id == remote]
    assert {c.store for c in limited} == {"s3-moto"}
    assert {c.access for c in limited} == set(plan.matrix.stores["s3-moto"].access)
    # the other reader reads every store, the limited one the same cells where it reads at all
    full = [c for c in plan.cells if c.reader.id == "fake@good"]
    assert {c.store for c in full} == {"local", "s3-moto", "s3-minio", "gcs"}
    assert [c.key[:4] for c in limited] == [c.key[:4] for c in full if c.store == "s3-moto"]
    # as a writer: nothing written on disk (it does not name local), so no cell in the local write mode
    plan = make_plan(Selection(**sel, stores=("local", "s3-moto"), writers=("fake", "fake-remote"), readers=("fake",)))
    assert plan.writes() == [(w, c) for w, c in plan.writes() if w.id == "fake@good"] and plan.writes()
    assert remote not in {c.writer.id for c in plan.cells}
    assert remote not in {iv.id for iv in plan.writers}
    # natively it writes into its S3 stores only (s3-moto, not s3-minio), and is read there
    plan = make_plan(Selection(**sel, stores=("local", "s3-moto", "s3-minio"), writers=("fake", remote),
                               readers=("fake", remote), write_mode="native"))
    native = {(w.id, s) for w, _, s in plan.native_writes()}
    assert native == {("fake@good", "s3-moto"), ("fake@good", "s3-minio"), (remote, "s3-moto")}
    assert {c.store_column for c in plan.cells if c.writer.id == remote} == {"s3-moto+native-write"}
    assert {c.store_column for c in plan.cells if c.reader.id == remote} == {"s3-moto", "s3-moto+native-write"}
    assert remote in {iv.id for iv in plan.impls()}
    # a name selecting several versions drops the limited one quietly where it has no cell ...
    plan = make_plan(Selection(**sel, stores=("local",), writers=("fake",), readers=("fake", "fake-remote")))
    assert {iv.id for iv in plan.readers} == {"fake@good"}
    # ... named by its id, it is a usage error that says where it reads and writes
    with pytest.raises(ConfigError, match=r"fake-remote@1-remote reads only from s3-moto, http .*--stores"):
        make_plan(Selection(**sel, stores=("local",), writers=("fake",), readers=(remote,)))
    with pytest.raises(ConfigError, match=r"writes no dataset of this run: not on disk .*s3-moto, http.*--write-mode native --stores s3-moto"):
        make_plan(Selection(**sel, stores=("local", "s3-moto"), writers=(remote,), readers=("fake",)))


def _matrix_with_an_n5_library(tmp_path, versions='"1": {formats: [n5]}'):
    """The fake matrix with fake-n5: the good fake as a library of one format (a version's `formats:`)."""
    text = FAKE_MATRIX.read_text().replace("\nstores:\n", f"""
  fake-n5:
    language: python
    adapter: command
    command: ["{{python}}", "{{root}}/tests/fixtures/fake_adapter.py", "--mode", "good"]
    timeout: 5
    versions:
      {versions}
stores:
""", 1)
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return str(path)


def test_a_version_limited_to_some_formats_has_cells_only_there(tmp_path):
    """`formats:` on a version (an N5 library): as a reader it reads, and as a writer it writes, only the
    cases of its formats; its other cells are not in the plan, and named for a run with no case of its
    formats it is a usage error that says which cases to select."""
    sel = dict(matrix=_matrix_with_an_n5_library(tmp_path), profile="smoke", stores=("local",),
               cases=("v2/int16/zlib/edge", "v3/int16/zstd/sparse", "n5/int16/raw/edge", "n5/int32/gzip/3d"))
    plan = make_plan(Selection(**sel, writers=("fake", "fake-n5"), readers=("fake", "fake-n5")))
    n5 = {"n5/int16/raw/edge", "n5/int32/gzip/3d"}
    assert {c.case.id for c in plan.cells if c.reader.id == "fake-n5@1"} == n5
    assert {c.case.id for c in plan.cells if c.writer.id == "fake-n5@1"} == n5
    assert {c.id for w, c in plan.writes() if w.id == "fake-n5@1"} == n5
    # read by the N5 library alone, the other writer writes only the N5 cases
    alone = make_plan(Selection(**sel, writers=("fake",), readers=("fake-n5",)))
    assert {c.id for w, c in alone.writes()} == n5
    # the other implementation writes and reads every format, also what the N5 library wrote
    assert {c.case.format for c in plan.cells if c.reader.id == "fake@good"} == {"zarr2", "zarr3", "n5"}
    assert {c.writer.id for c in plan.cells if c.reader.id == "fake@good" and c.case.format == "n5"} \
        >= {"fake@good", "fake-n5@1"}
    assert not [c for c in plan.cells if "fake-n5@1" in (c.writer.id, c.reader.id) and c.case.format != "n5"]
    # with no N5 case, a name selecting it among others drops it; its id named is a usage error
    sel["cases"] = ("v2/int16/zlib/edge",)
    plan = make_plan(Selection(**sel, readers=("fake", "fake-n5")))
    assert {iv.id for iv in plan.readers} == {"fake@good"}
    with pytest.raises(ConfigError, match=r"fake-n5@1 reads only n5 \(its formats in matrix.yaml\).*--cases 'n5/\*'"):
        make_plan(Selection(**sel, readers=("fake-n5@1",)))
    with pytest.raises(ConfigError, match=r"fake-n5@1 writes only n5"):
        make_plan(Selection(**sel, writers=("fake-n5@1",)))


def test_the_formats_of_a_version_are_validated(tmp_path):
    with pytest.raises(ConfigError, match=r"formats"):
        load_matrix(_matrix_with_an_n5_library(tmp_path, '"1": {formats: [n6]}'))
    with pytest.raises(ConfigError, match="name at least one format"):
        load_matrix(_matrix_with_an_n5_library(tmp_path, '"1": {formats: []}'))


def test_the_stores_of_a_version_are_validated(tmp_path):
    text = FAKE_MATRIX.read_text().replace("stores: [s3-moto, http]", "stores: [s3-motto, http]")
    bad = tmp_path / "matrix.yaml"
    bad.write_text(text)
    with pytest.raises(ConfigError, match=r"implementations\.fake-remote\.versions\.1-remote\.stores: unknown store "
                                          r"'s3-motto' \(did you mean 's3-moto'\?\)"):
        load_matrix(bad)
    bad.write_text(FAKE_MATRIX.read_text().replace("stores: [s3-moto, http]", "stores: []"))
    with pytest.raises(ConfigError, match="name at least one store"):
        load_matrix(bad)


def test_a_matrix_version_names_the_release_its_handshake_reports():
    """A packaging or a code path of a release ("2.13.6-debian", "3.4.2-obstore") is the release to the
    findings' version ranges: the plan predicts by it."""
    m = load_matrix()
    by_id = {iv.id: iv for iv in m.impl_versions()}
    assert by_id["zarr-python@2.13.6-debian"].release == "2.13.6"
    assert by_id["zarr-python@3.4.2-obstore"].release == "3.4.2"
    assert by_id["netcdf4-python@1.7.5.1.post1"].release == "1.7.5.1.post1"
    plan = make_plan(Selection(profile="default", writers=("zarr-python@3.4.2",), readers=("zarr-python@2.13.6-debian",),
                               cases=("v3/int16/zstd/edge",), stores=("local",)))
    (cell,) = plan.cells
    assert cell.facts().reader_version == "2.13.6"
    # the obstore code path of 3.4.2 reads no local disk: the default profile's one cell of it is on S3
    plan = make_plan(Selection(profile="default", writers=("zarr-python@3.4.2",), readers=("zarr-python@3.4.2-obstore",),
                               cases=("n5/int16/raw/edge",)))
    (cell,) = plan.cells
    assert cell.store == "s3-moto" and cell.facts().reader_version == "3.4.2"
    assert [f.id for f in plan.predicted(cell, Findings.load(ROOT / "findings", set(m.implementations)))] == ["zarr-python-3-no-n5"]


def _matrix_with_verbs(tmp_path, verbs: str) -> str:
    """The fake matrix with two more copies of the good fake: fake-w only writes, fake-r only reads."""
    text = FAKE_MATRIX.read_text().replace("\nstores:\n", f"""
  fake-w:
    language: python
    adapter: command
    command: ["{{python}}", "{{root}}/tests/fixtures/fake_adapter.py", "--mode", "good"]
    verbs: {verbs}
    versions:
      "1": {{}}
  fake-r:
    language: python
    adapter: command
    command: ["{{python}}", "{{root}}/tests/fixtures/fake_adapter.py", "--mode", "good"]
    verbs: [read]
    versions:
      "1": {{}}
stores:
""", 1)
    path = tmp_path / "matrix.yaml"
    path.write_text(text)
    return str(path)


def test_a_write_only_implementation_is_never_a_reader_nor_a_read_only_one_a_writer(tmp_path):
    """`verbs:` of an implementation: by default every implementation is both; [write] is never scheduled
    as a reader and [read] never as a writer, and naming one for what it does not do is a usage error."""
    sel = dict(matrix=_matrix_with_verbs(tmp_path, "[write]"), profile="smoke", stores=("local",),
               cases=("v2/int16/zlib/edge",))
    plan = make_plan(Selection(**sel))
    assert "fake-w@1" in {w.id for w in plan.writers} and "fake-w@1" not in {r.id for r in plan.readers}
    assert "fake-r@1" in {r.id for r in plan.readers} and "fake-r@1" not in {w.id for w in plan.writers}
    assert not [c for c in plan.cells if c.reader.id == "fake-w@1" or c.writer.id == "fake-r@1"]
    # what fake-w writes is read by every reader, fake-r included
    assert {c.reader.id for c in plan.cells if c.writer.id == "fake-w@1"} >= {"fake@good", "fake-r@1"}
    with pytest.raises(ConfigError, match=r"fake-w does not read \(verbs: \[write\] in matrix.yaml\)"):
        make_plan(Selection(**sel, readers=("fake-w",)))
    with pytest.raises(ConfigError, match=r"fake-r does not write"):
        make_plan(Selection(**sel, writers=("fake-r@1",)))
    # `involving` a write-only implementation: its writes, read by the others
    ci = make_plan(Selection(**sel, involving=("fake-w@1",)))
    assert ci.cells and all(c.writer.id == "fake-w@1" for c in ci.cells)


def test_the_project_matrix_schedules_acquire_zarr_as_a_writer_and_zarr_js_freeman_as_a_reader():
    plan = make_plan(Selection(profile="smoke", stores=("local",)))
    assert "acquire-zarr@0.10.0" in {w.id for w in plan.writers}
    assert "acquire-zarr@0.10.0" not in {r.id for r in plan.readers}
    assert "zarr-js-freeman@3.3.0" not in {w.id for w in plan.writers}
