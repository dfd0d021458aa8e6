"""The docker runner: adapters in hardened containers give the verdicts the local runner gives,
cannot write what they read, and leave no container behind (normal end, Ctrl-C, failure).

Needs a docker engine: the `engine` fixture starts dockerd when it is installed but not running
(scripts/install-docker.sh) and stops it again at the end. Where no engine can run the tests
skip with the reason; under CI (env CI set) that is a failure. The images of one adapter per
language are built once (cached by their inputs, so a warm engine builds nothing).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil
import pytest

from conftest import CLI, ROOT, run_cli

# One adapter of every language (writers: zarr-python only, so that one writer's datasets are read by all),
# and Debian's packaged zarr-python, whose image holds Debian's interpreter rather than a pinned one.
READERS = ["zarr-python@3.1.6", "zarrita-js@0.7.5", "zarrs@0.23.14", "zarr-java@0.0.9", "netcdf-c@4.9.0",
           "gdal@3.6.2", "zarr-python@2.13.6-debian"]
WRITER = "zarr-python@3.1.6"
CASES = ("v2/int16/zlib/sparse,v2/float32/zlib/edge-slash,v2/U5/zlib/edge,v2/float32/blosc-lz4-shuffle/edge,"
         "v3/float32/shard-blosc/3d,v3/complex64/bytes-big+gzip/edge,v2/float64/lzma/edge")
OWNER = "org.zarr-conformance.owner"
RUN = "org.zarr-conformance.run"


def docker(*args, check=True, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check, timeout=timeout)


def answers() -> bool:
    try:
        return docker("info", check=False, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def engine():
    """A docker engine that answers: started here when installed but not running, and stopped
    again at the end if it was started here."""
    started = False
    if not answers():
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "install-docker.sh")], capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0 or not answers():
            why = (proc.stderr.strip() or proc.stdout.strip() or "no engine").splitlines()[-1]
            if os.environ.get("CI"):
                pytest.fail(f"CI: the docker engine cannot start: {why}")
            pytest.skip(f"no docker engine here: {why}")
        started = "started" in proc.stdout
    yield
    if started:
        _stop_dockerd()


def _stop_dockerd():
    pid_file = Path("/var/run/docker.pid")
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)


@pytest.fixture(scope="session")
def images(engine, tmp_path_factory):
    """The images of READERS (and the base image), built unless up to date. Build contexts go to
    a temporary cache; environments are the shared ones, as in conftest."""
    from harness.images import build_images
    from harness.matrix import load_matrix

    cache = tmp_path_factory.mktemp("image-cache")
    envs = ROOT / ".cache" / "envs"
    envs.mkdir(parents=True, exist_ok=True)
    (cache / "envs").symlink_to(envs, target_is_directory=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZC_CACHE", str(cache))
        lines = []
        failed = build_images(load_matrix(None).resolve_impls(READERS, ""), log=lines.append)
    assert failed == 0, "\n".join(map(str, lines))
    return cache  # its builds/ records the adapters' builds as up to date


def containers(label: str) -> list[str]:
    return docker("ps", "-aq", "--filter", f"label={label}").stdout.split()


def owner_of(pid: int) -> str:
    return f"{OWNER}={socket.gethostname()}:{pid}"


def records(out: Path) -> list[dict]:
    p = out / "results.jsonl"
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []


# --- the launcher ---------------------------------------------------------------------------------------------
def _dirs(tmp_path):
    from harness.launchers import AdapterDirs

    datasets = tmp_path / "cache" / "datasets"
    dirs = AdapterDirs(datasets=datasets, reference=tmp_path / "cache" / "reference", staging=datasets / ".staging",
                       scratch=tmp_path / "scratch")
    for d in (dirs.datasets, dirs.reference, dirs.staging, dirs.scratch):
        d.mkdir(parents=True, exist_ok=True)
    return dirs


def _worker(launcher, impl_id):
    from harness.environments import setup
    from harness.matrix import load_matrix
    from harness.workers import Worker

    iv = load_matrix(None).resolve_impls([impl_id], "")[0]
    env = setup(iv, log=lambda *_: None)
    ready, refused = launcher.prepare({iv.id: env}, log=lambda *_: None)
    assert not refused, refused
    w = Worker(ready[iv.id], launcher=launcher)
    w.start()
    return w


def test_every_implementation_of_the_matrix_has_an_image_recipe():
    from harness.images import image_spec
    from harness.matrix import load_matrix

    m = load_matrix(None)
    ivs = m.impl_versions()  # the unavailable ones (no library to be had) are not among them
    assert len(ivs) >= 15
    kinds = {iv.id: image_spec(iv).kind for iv in ivs}  # NotAvailable fails the test
    assert kinds["zarr-python@2.13.6-debian"] == "debian-python"
    assert {"python", "debian-python", "node", "java", "native"} == set(kinds.values())
    for iv in ivs:
        assert image_spec(iv).dockerfile.is_file()


def test_containers_are_hardened(images, tmp_path, monkeypatch):
    from harness.docker_launcher import DockerLauncher

    monkeypatch.setenv("ZC_TEST_HOST_ONLY", "not for adapters")

    launcher = DockerLauncher(_dirs(tmp_path), network="none")
    w = _worker(launcher, "zarrs@0.23.14")
    try:
        assert w.hello["impl"] == "zarrs"
        (cid,) = containers(f"{RUN}={launcher.run_id}")
        info = json.loads(docker("inspect", cid).stdout)[0]
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] or host["CapDrop"] == ["all"]
        assert "no-new-privileges" in host["SecurityOpt"]
        assert host["Memory"] > 0 and host["PidsLimit"] > 0 and host["NanoCpus"] > 0
        assert host["NetworkMode"] == "none"
        assert info["Config"]["User"] not in ("", "0", "root", "0:0")
        mounts = {m["Destination"]: m["RW"] for m in info["Mounts"]}
        assert mounts == {"/zc/datasets": False, "/zc/reference": False, "/zc/staging": True, "/zc/scratch": True}
        # Nothing of the host's environment goes in but the adapter's own variables.
        env = dict(e.split("=", 1) for e in info["Config"]["Env"])
        assert "ZC_TEST_HOST_ONLY" not in env and env.get("RAYON_NUM_THREADS") == "1"
        # kill() takes the container away at once (a timeout or a protocol violation does this).
        w.kill()
        assert not containers(f"{RUN}={launcher.run_id}")
    finally:
        w.kill()
        launcher.close()


def test_an_adapter_cannot_write_the_dataset_it_reads(images, tmp_path):
    """zarr-python in its container writes where the harness lets it (its staging directory), reads
    the dataset from the read-only cache, and fails to write into it: Read-only file system."""
    from harness.cases import catalogue
    from harness.docker_launcher import DockerLauncher
    from harness.reference import ReferenceStore

    dirs = _dirs(tmp_path)
    launcher = DockerLauncher(dirs, network="none")
    w = _worker(launcher, "zarr-python@3.1.6")
    try:
        case = catalogue()["v2/int16/zlib/edge"]
        refs = ReferenceStore(dirs.reference)
        staged = dirs.staging / uuid.uuid4().hex
        staged.mkdir()
        resp = w.request({"op": "write", "case": case.to_json(), "data": str(refs.ensure(case)),
                          "target": {"kind": "local", "path": str(staged / "dataset")}})
        assert resp["status"] == "ok", resp
        dataset = dirs.datasets / "zarr-python" / "ds"
        dataset.parent.mkdir(parents=True)
        (staged / "dataset").rename(dataset)  # as the dataset cache does
        resp = w.request({"op": "read", "target": {"kind": "local", "path": str(dataset)}, "path": case.path,
                          "format": case.format, "dump": None})
        assert resp["status"] == "ok", resp
        # The same adapter writing into the dataset it just read (the cache is mounted read-only).
        resp = w.request({"op": "write", "case": case.to_json(), "data": str(refs.ensure(case)),
                          "target": {"kind": "local", "path": str(dataset / "again")}})
        assert resp["status"] == "error" and "Read-only file system" in resp["error"], resp
        assert not (dataset / "again").exists()
        # Another write's staging directory is not handed to it: not writable either.
        other = dirs.staging / uuid.uuid4().hex
        other.mkdir()
        from harness.launchers import PathMap

        plain = PathMap(launcher.paths.mounts).request(  # mapped, but not granted
            {"op": "write", "id": "x", "case": case.to_json(), "data": str(refs.ensure(case)),
             "target": {"kind": "local", "path": str(other / "dataset")}})
        resp = w._exchange(plain, 60)
        assert resp["status"] == "error" and "Permission denied" in resp["error"], resp
    finally:
        w.stop()
        launcher.close()
    assert not containers(f"{RUN}={launcher.run_id}")


def test_missing_stale_and_unreachable_images_are_refused_with_the_fix(images, tmp_path, monkeypatch):
    from harness import images as im
    from harness.docker_launcher import DockerLauncher
    from harness.environments import setup
    from harness.matrix import load_matrix

    m = load_matrix(None)
    gdal = m.resolve_impls(["gdal@3.6.2"], "")[0]
    envs = {gdal.id: setup(gdal, log=lambda *_: None)}
    # Built and up to date.
    ready, refused = DockerLauncher(_dirs(tmp_path)).prepare(envs)
    assert list(ready) == [gdal.id] and not refused
    # A Debian package copied into the image has changed on the host since.
    pkgs = dict(im.host_packages())
    name = next(p for p in pkgs if p.startswith("libgdal3"))
    monkeypatch.setattr(im, "_host_packages", {**pkgs, name: im.Package(name, "9.9.9", [])})
    ready, refused = DockerLauncher(_dirs(tmp_path)).prepare(envs)
    assert not ready and f"Debian package {name}" in refused[gdal.id] and "is now 9.9.9" in refused[gdal.id]
    assert f"run zarr-conformance images build {gdal.id}" in refused[gdal.id]
    monkeypatch.setattr(im, "_host_packages", pkgs)
    # Its inputs changed (here: its Dockerfile).
    spec = im.image_spec(gdal)
    edited = tmp_path / "Dockerfile"
    edited.write_text(spec.dockerfile.read_text() + "# edited\n")
    monkeypatch.setattr(im, "image_spec", lambda iv: dataclasses.replace(spec, dockerfile=edited))
    ready, refused = DockerLauncher(_dirs(tmp_path)).prepare(envs)
    assert "image stale (its inputs changed since it was built)" in refused[gdal.id]
    monkeypatch.undo()
    # Another base image: nothing is built from it.
    ready, refused = DockerLauncher(_dirs(tmp_path), base_image="zarr-conformance/base:none").prepare(envs)
    assert "the base image zarr-conformance/base:none is not built" in refused[gdal.id]
    assert "--base-image zarr-conformance/base:none" in refused[gdal.id]
    # No engine: the docker runner says why (the local runner does not need one).
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    ready, refused = DockerLauncher(_dirs(tmp_path)).prepare(envs)
    assert "the docker runner is not available: the docker engine does not answer" in refused[gdal.id]


def test_images_are_rebuilt_only_when_their_inputs_change(images, tmp_path):
    from harness.images import build_images
    from harness.matrix import load_matrix

    lines = []
    assert build_images(load_matrix(None).resolve_impls(["zarrs@0.23.14"], ""), log=lines.append) == 0
    assert any(str(line).startswith("up to date: zarrs@0.23.14") for line in lines), lines
    proc = run_cli("images", "list", *READERS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "zarrs@0.23.14" in proc.stdout and "built" in proc.stdout


# --- no container is left behind ------------------------------------------------------------------------------
RUN_ARGS = ["run", "--runner", "docker", "--readers", "zarrs@0.23.14,zarr-python@3.1.6", "--writers", WRITER,
            "--stores", "local", "--no-findings", "-j", "2"]


def test_no_container_left_after_a_run(images, tmp_path):
    proc = subprocess.Popen([*CLI, *RUN_ARGS, "--cases", "v2/int16/zlib/edge,v3/float32/zstd/edge", "--out",
                             str(tmp_path / "run"), "--quiet"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, out + err
    recs = records(tmp_path / "run")
    assert len(recs) == 4 and all(r["outcome"] == "pass" for r in recs), recs
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["runner"] == "docker"
    assert not containers(owner_of(proc.pid))


def test_no_container_left_after_ctrl_c(images, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([*CLI, *RUN_ARGS, "--profile", "smoke", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(records(out)) < 3:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    running = containers(owner_of(proc.pid))
    assert running, "the adapters run in containers"
    clients = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=120)
    assert proc.returncode != 0
    assert not containers(owner_of(proc.pid)), "containers left after Ctrl-C"
    time.sleep(0.5)
    assert not [c for c in clients if c.is_running() and c.status() != psutil.STATUS_ZOMBIE], "clients left"


def test_containers_end_by_themselves_when_the_harness_is_killed(images, tmp_path):
    """SIGKILL leaves the harness no chance to clean up: the adapters see their input close and
    exit, and their containers go (and a later run would remove any that did not)."""
    out = tmp_path / "run"
    proc = subprocess.Popen([*CLI, *RUN_ARGS, "--profile", "smoke", "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(records(out)) < 3:
        assert proc.poll() is None
        time.sleep(0.1)
    assert containers(owner_of(proc.pid))
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 60
    while containers(owner_of(proc.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not containers(owner_of(proc.pid))


def test_no_container_left_after_a_failure(images, tmp_path, monkeypatch):
    """The run fails in the middle (a harness error): its containers are removed all the same."""
    from harness import launchers, run as run_module
    from harness.plan import Selection

    made = []
    real = launchers.make_launcher

    def capture(*a, **kw):
        made.append(real(*a, **kw))
        return made[-1]

    def boom(self):
        raise RuntimeError("harness failure in the middle of a run")

    monkeypatch.setattr(run_module, "make_launcher", capture)
    monkeypatch.setattr(run_module.Session, "read_all", boom)
    opts = run_module.RunOptions(selection=Selection(readers=("zarrs@0.23.14",), writers=(WRITER,),
                                                     cases=("v2/int16/zlib/edge",), stores=("local",)),
                                 out=str(tmp_path / "run"), quiet=True, runner="docker", jobs=1)
    with pytest.raises(RuntimeError, match="harness failure"):
        run_module.run(opts)
    assert made and made[0].name == "docker"
    assert not containers(f"{RUN}={made[0].run_id}")


def test_containers_of_a_harness_that_died_are_removed(images, tmp_path):
    from harness.docker_launcher import DockerLauncher
    from harness.images import base_tag

    dead = subprocess.Popen(["true"])
    dead.wait()
    label = f"{socket.gethostname()}:{dead.pid}"
    docker("run", "-d", "--rm", "--network", "none", "--label", f"{OWNER}={label}", base_tag(), "sleep", "300")
    assert containers(f"{OWNER}={label}")
    DockerLauncher(_dirs(tmp_path)).sweep_orphans(log=lambda *_: None)
    deadline = time.monotonic() + 30
    while containers(f"{OWNER}={label}") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not containers(f"{OWNER}={label}")


# --- docker and local agree ---------------------------------------------------------------------------------------
def _compare():
    """bench/docker_vs_local.py's cell-for-cell comparison of two runs (its --compare)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docker_vs_local", ROOT / "bench" / "docker_vs_local.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.compare


def _run(runner: str, tmp_path: Path, built: Path) -> Path:
    out = tmp_path / runner
    cache = tmp_path / f"cache-{runner}"  # each runner writes its own datasets: writers are compared too
    cache.mkdir()
    (cache / "envs").symlink_to(ROOT / ".cache" / "envs", target_is_directory=True)
    (cache / "builds").symlink_to(built / "builds", target_is_directory=True)  # builds are not redone
    proc = run_cli("run", "--runner", runner, "--readers", ",".join(READERS), "--writers", WRITER, "--cases", CASES,
                   "--stores", "local,s3-moto", "--no-findings", "--out", out, "--quiet", timeout=1200,
                   env={"ZC_CACHE": str(cache)})
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return out


def test_docker_and_local_give_the_same_verdicts_cell_for_cell(images, tmp_path):
    docker_run, local_run = _run("docker", tmp_path, images), _run("local", tmp_path, images)
    d_run = json.loads((docker_run / "run.json").read_text())
    assert d_run["runner"] == "docker"
    assert not {i: why for i, why in d_run["not_available"].items() if i in READERS}, d_run["not_available"]
    assert set(READERS) <= set(d_run["implementations"])
    recs = records(docker_run)
    assert len(recs) > 100 and {r["reader"] for r in recs} == set(READERS)
    assert len({r["outcome"] for r in recs}) >= 2, "the cases give more than one outcome"
    differences = _compare()(docker_run, local_run)
    assert not differences, "\n".join(differences[:20])


def test_the_pytest_plugin_runs_cells_in_containers(images, tmp_path):
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                             "--zc", "--zc-runner", "docker", "--zc-readers", "zarrs@0.23.14", "--zc-writers", WRITER,
                             "--zc-cases", "v2/int16/zlib/edge,v3/float32/zstd/edge", "--zc-stores", "local",
                             "--zc-no-findings", "--zc-out", str(tmp_path / "out"), "-q", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    out, err = proc.communicate(timeout=900)
    assert "2 passed" in out, out[-3000:] + err[-2000:]
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    assert run["runner"] == "docker"
    assert not containers(owner_of(proc.pid))
