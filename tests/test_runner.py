"""The runner: hung, crashed and lying adapters only cost their own cell;
results are appended as cells finish; an interrupted run resumes; nothing is left running."""

import json
import os
import signal
import subprocess
import time

import psutil
import pytest

from harness.results import load_jsonl
from conftest import CLI, FAKE_MATRIX, ROOT, finding, run_cli, write_findings

CASES = "v2/int16/raw/edge,v3/float64/zstd/edge,v2/int16/zlib/edge"


def records(out):
    return load_jsonl(out / "results.jsonl")


def test_hang_crash_and_garbage_cost_only_their_cell(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("--matrix", FAKE_MATRIX, "run", "--cases", CASES, "--writers", "fake", "--out", out,
                   "--readers", "fake,fake-hang,fake-crash,fake-garbage,fake-transpose",
                   "--no-findings", "-j", "2", "--quiet")
    assert proc.returncode == 1, proc.stderr  # unexpected outcomes
    recs = records(out)
    by = {(r["reader"], r["case"]): r for r in recs}
    assert len(recs) == 3 * 5  # 3 datasets x 5 readers, local store
    trigger = "v2/int16/raw/edge"
    assert by[("fake-hang@1", trigger)]["outcome"] == "timeout"
    assert "no answer within 2 s" in by[("fake-hang@1", trigger)]["message"]
    assert by[("fake-crash@1", trigger)]["outcome"] == "crash"
    assert "exited with status 3" in by[("fake-crash@1", trigger)]["message"]
    assert by[("fake-garbage@1", trigger)]["outcome"] == "crash"
    assert "not JSON" in by[("fake-garbage@1", trigger)]["message"]
    # The same workers' other cells went on and passed.
    for reader in ("fake-hang@1", "fake-crash@1", "fake-garbage@1"):
        others = [r for r in recs if r["reader"] == reader and r["case"] != trigger]
        assert others and all(r["outcome"] == "pass" for r in others)
    run = json.loads((out / "run.json").read_text())
    assert run["worker_starts"]["fake-hang@1"] >= 2  # killed and restarted
    assert run["implementations"]["fake@good"]["version"] == "0.0.1-good"
    # Where the time went: the hung reader's 2 s wait makes it the costliest, on the one store read.
    cost = run["read_cost_s"]
    assert next(iter(cost)) == "fake-hang@1" and cost["fake-hang@1"]["total"] >= 2
    assert set(cost) == {r["reader"] for r in recs} and all(set(v) == {"total", "local"} for v in cost.values())


def test_wrong_data_is_a_mismatch_with_diagnosis(tmp_path):
    out = tmp_path / "run"
    proc = run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge,v2/int16/zlib/3d-F", "--writers", "fake",
                   "--readers", "fake-transpose", "--out", out, "--no-findings", "--quiet")
    assert proc.returncode == 1
    recs = {r["case"]: r for r in records(out)}
    assert recs["v2/int16/zlib/edge"]["outcome"] == "mismatch"
    assert recs["v2/int16/zlib/edge"]["diagnosis"] == "transposed (axes reversed)"
    assert recs["v2/int16/zlib/3d-F"]["outcome"] == "pass"  # the fake transposes 2-d only


def test_findings_turn_known_failures_expected(tmp_path):
    out = tmp_path / "run"
    fdir = write_findings(tmp_path / "findings", "fake-transpose", [
        finding("fake-transposes-2d", "the fake transposes 2-d arrays", ["mismatch"], [{"format": "zarr2"}],
                upstream="https://example.org/1")])
    proc = run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge,v2/int16/zlib/3d-F",
                   "--writers", "fake", "--readers", "fake-transpose", "--out", out, "--findings", fdir, "--quiet")
    recs = {r["case"]: r for r in records(out)}
    assert recs["v2/int16/zlib/edge"]["unexpected"] is False
    assert recs["v2/int16/zlib/edge"]["finding"] == "fake-transposes-2d"
    # A cell a finding predicts to fail that passes is unexpected: the fix shows.
    assert recs["v2/int16/zlib/3d-F"]["unexpected"] is True
    assert proc.returncode == 1
    assert "fake-transposes-2d" in (out / "summary.md").read_text()


def _children_of(pid):
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGINT while ignored"])
def test_interrupted_run_resumes_and_leaves_no_process(tmp_path, stop):
    """Ctrl-C, a SIGTERM (a cancelled CI job) and a SIGINT to a run started in the background (whose
    shell ignores SIGINT) all stop the run the same way: report written, nothing left running."""
    out = tmp_path / "run"
    args = ["--matrix", FAKE_MATRIX, "run", "--profile", "smoke", "--stores", "local,s3-moto",
            "--readers", "fake,fake-transpose", "--writers", "fake", "--out", out, "--no-findings", "-j", "1"]
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if stop == "SIGINT while ignored" else None
    proc = subprocess.Popen([*CLI, *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ}, preexec_fn=ignore)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(records(out)) < 10:
        time.sleep(0.05)
    kids = _children_of(proc.pid)
    assert kids, "workers and moto run as children"
    proc.send_signal(signal.SIGTERM if stop == "SIGTERM" else signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert (out / "run.json").exists() and (out / "report.html").exists()  # finished as on Ctrl-C
    first = records(out)
    assert len(first) >= 10
    time.sleep(0.5)
    assert not [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE], "orphans after Ctrl-C"
    # Resume: only the missing cells run, and the run completes.
    done = run_cli(*args, "--resume", "--quiet")
    assert done.returncode == 1, done.stderr  # fake-transpose mismatches are unexpected
    allrecs = records(out)
    keys = [(r["writer"], r["case"], r["store"], r["access"], r["reader"]) for r in allrecs]
    assert len(keys) == len(set(keys)), "no cell ran twice"
    run = json.loads((out / "run.json").read_text())
    from harness.cases import catalogue, store_sensitive

    cases = [catalogue()[c] for c in run["cases"] if not catalogue()[c].source]  # sources: kerchunk stores only
    n_cases = len(cases)
    n_sensitive = sum(store_sensitive(c) for c in cases)
    # (every case on local and s3-moto signed + store-sensitive ones in 3 more access modes) x 2 readers
    assert len(allrecs) == (n_cases * 2 + n_sensitive * 3) * 2
    assert allrecs[: len(first)] == first  # earlier results kept as they were


def test_kerchunk_stores_stop_the_servers_they_start(tmp_path):
    """A kerchunk store serves its files from a server of its own (the HTTP server, moto): both are
    children of the run while it reads, and gone after a Ctrl-C."""
    out = tmp_path / "run"
    args = ["--matrix", FAKE_MATRIX, "run", "--profile", "smoke", "--stores", "refs-http,refs-s3",
            "--readers", "fake", "--writers", "fake", "--out", out, "--no-findings", "-j", "1"]
    proc = subprocess.Popen([*CLI, *map(str, args)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(records(out)) < 5:
        time.sleep(0.05)
    servers = [k for k in _children_of(proc.pid) if any("harness.servers." in part for part in k.cmdline())]
    assert sorted(s.cmdline()[2] for s in servers) == ["harness.servers.http_server", "harness.servers.moto_server"]
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    time.sleep(0.5)
    assert not [k for k in servers if k.is_running() and k.status() != psutil.STATUS_ZOMBIE], "servers left"
    assert {r["store"] for r in records(out)} <= {"refs-http", "refs-s3"}


def test_results_are_appended_as_cells_finish(tmp_path):
    """A run killed hard (SIGKILL) still leaves every finished cell in results.jsonl."""
    out = tmp_path / "run"
    args = ["--matrix", FAKE_MATRIX, "run", "--profile", "smoke", "--writers", "fake", "--readers", "fake",
            "--out", out, "--no-findings", "-j", "1", "--quiet"]
    proc = subprocess.Popen([*CLI, *map(str, args)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(records(out)) < 5:
        time.sleep(0.02)
    kids = _children_of(proc.pid)
    proc.kill()
    proc.wait()
    assert len(records(out)) >= 5
    # Workers notice their parent is gone (stdin closes) and exit.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids):
        time.sleep(0.1)
    assert not [k for k in kids if k.is_running() and k.status() != psutil.STATUS_ZOMBIE]


def test_a_reader_that_reads_a_denied_chunk_as_fill_is_a_mismatch(tmp_path):
    out = tmp_path / "run"
    run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v3/int16/zstd/sparse", "--writers", "fake",
            "--readers", "fake,fake-lenient", "--stores", "s3-moto", "--out", out, "--no-findings", "--quiet")
    by = {(r["reader"], r["access"]): r for r in records(out)}
    assert by[("fake@good", "forbidden-chunk")]["outcome"] == "pass"
    assert "failed as it must" in by[("fake@good", "forbidden-chunk")]["message"]
    lenient = by[("fake-lenient@1", "forbidden-chunk")]
    assert lenient["outcome"] == "mismatch" and lenient["unexpected"]
    assert "all elements are the fill value" in lenient["diagnosis"]
    assert by[("fake-lenient@1", "anonymous")]["outcome"] == "pass"


def test_native_write_mode_writes_through_the_writers_s3_support(tmp_path):
    out = tmp_path / "run"
    run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge", "--writers", "fake", "--readers", "fake",
            "--stores", "local,s3-moto", "--write-mode", "native", "--out", out, "--no-findings", "--quiet")
    by = {(r["store"], r["write_mode"]): r for r in records(out)}
    assert by[("s3-moto+native-write", "native")]["outcome"] == "pass"
    assert by[("s3-moto", "local")]["outcome"] == "pass" and by[("local", "local")]["outcome"] == "pass"
    writes = load_jsonl(out / "writes.jsonl")
    assert any(w.get("write_mode") == "native" and w["store"] == "s3-moto" and w["status"] == "ok" for w in writes)


def test_a_run_over_cached_datasets_starts_no_writer(tmp_path):
    """Writers start lazily: once every dataset of the plan is cached, a run starts readers only."""
    args = ["--matrix", FAKE_MATRIX, "run", "--cases", CASES, "--writers", "fake", "--readers", "fake-transpose",
            "--no-findings", "--quiet"]
    first, second = tmp_path / "first", tmp_path / "second"
    run_cli(*args, "--out", first)
    starts = json.loads((first / "run.json").read_text())["worker_starts"]
    assert starts.get("fake@good", 0) >= 1, starts  # the first run wrote the datasets
    run_cli(*args, "--out", second)
    starts = json.loads((second / "run.json").read_text())["worker_starts"]
    assert "fake@good" not in starts or starts["fake@good"] == 0, starts
    assert starts["fake-transpose@1"] >= 1
    assert [r["outcome"] for r in records(second)] == [r["outcome"] for r in records(first)]


def test_an_implementation_that_cannot_start_is_said_loudly_not_judged(tmp_path):
    """A reader whose adapter does not start has its cells skipped (never judged), and the end of the
    run and summary.md say so at the top, not only in a footnote."""
    import yaml

    m = yaml.safe_load(FAKE_MATRIX.read_text())
    m["implementations"]["fake-broken"] = {"language": "python", "adapter": "command", "timeout": 5,
                                          "command": ["{python}", "-c", "import sys; sys.exit(3)"],
                                          "versions": {"1": {}}}
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(m))
    out = tmp_path / "run"
    proc = run_cli("--matrix", matrix, "run", "--cases", CASES, "--writers", "fake", "--readers", "fake,fake-broken",
                   "--no-findings", "--out", out)
    assert proc.returncode == 0, proc.stderr  # nothing unexpected: the broken reader's cells are skipped
    assert "1 implementations or stores not available, their cells skipped: fake-broken@1" in proc.stderr + proc.stdout
    summary = (out / "summary.md").read_text().splitlines()
    assert "**1 implementations or stores not available** (their cells are skipped, not judged): fake-broken@1" in summary[:6]
    assert {r["outcome"] for r in records(out) if r["reader"] == "fake-broken@1"} == {"skipped"}


def test_a_failed_write_is_not_cached(tmp_path):
    """A write error may be the machine's (an adapter's build replaced under it): it is tried again by
    the next run instead of sticking in the dataset cache; a refusal (unsupported) is cached."""
    import yaml

    broken = tmp_path / "node_modules-missing"
    broken.touch()
    m = yaml.safe_load(FAKE_MATRIX.read_text())
    m["implementations"]["fake-env"] = {
        "language": "python", "adapter": "command", "timeout": 5, "versions": {"1": {}},
        "command": ["{python}", "{root}/tests/fixtures/fake_adapter.py", "--mode", "brokenenv", "--trigger", str(broken)]}
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(yaml.safe_dump(m))
    args = ["--matrix", matrix, "run", "--cases", CASES, "--writers", "fake-env", "--readers", "fake", "--no-findings", "-q"]
    run_cli(*args, "--out", tmp_path / "first")
    first = load_jsonl(tmp_path / "first" / "writes.jsonl")
    assert {w["status"] for w in first} == {"error"}, first
    broken.unlink()  # the machine is mended
    run_cli(*args, "--out", tmp_path / "second")
    second = load_jsonl(tmp_path / "second" / "writes.jsonl")
    assert {(w["status"], w["cached"]) for w in second} == {("ok", False)}, second
    assert {r["outcome"] for r in records(tmp_path / "second")} == {"pass"}


def test_a_cached_dataset_is_readable_by_every_user(tmp_path):
    """Readers may run as another user than the writer (the docker runner): files a library created
    0600 (netCDF writes 0640) are opened up to every user's read when the dataset enters the cache."""
    import stat

    from harness.cases import catalogue
    from harness.generate import Dataset, DatasetCache
    from harness.matrix import load_matrix

    writer = load_matrix(FAKE_MATRIX).impl_versions()[0]
    case = catalogue()["v2/int16/zlib/edge"]
    staged = tmp_path / "staging" / "w1" / "dataset"
    (staged / "array").mkdir(parents=True)
    (staged / "array" / ".zarray").write_text("{}")
    os.chmod(staged / "array" / ".zarray", 0o600)
    os.chmod(staged / "array", 0o700)
    cache = DatasetCache(tmp_path / "datasets")
    ds = cache.save(Dataset(writer, case, staged, "ok", ""), "stamp", staged)
    for p in (ds.path / "array", ds.path / "array" / ".zarray"):
        mode = p.stat().st_mode
        assert mode & stat.S_IROTH and mode & stat.S_IRGRP, oct(mode)
    assert (ds.path / "array").stat().st_mode & stat.S_IXOTH


def test_an_interrupt_while_stopping_takes_effect_once_everything_is_stopped():
    """Ctrl-C while workers and servers stop must not cut the stopping short (that left emulators behind)."""
    from harness.run import interrupts_deferred

    done = []
    with pytest.raises(KeyboardInterrupt):
        with interrupts_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
            done.append("stopped")
    assert done == ["stopped"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
