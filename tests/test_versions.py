"""`zarr-conformance versions`: the registry clients on real (trimmed) answers served from 127.0.0.1, the
lag rule, exit statuses, recorded answers, and the matrix's registry specs. No network."""

import copy
import io
import json
import socket
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness import versions as V
from harness.cli import main
from harness.matrix import ConfigError, PackageRef, load_matrix

FIX = Path(__file__).parent / "fixtures" / "registry"
KINDS = ("pypi", "npm", "cargo", "maven", "go")


def _routes():
    """Paths of the fake registries -> (status, body), from answers the real registries gave (trimmed)."""
    return {
        "/pypi/zarr/json": (200, (FIX / "pypi-zarr.json").read_bytes()),
        "/pypi/numcodecs/json": (200, (FIX / "pypi-numcodecs.json").read_bytes()),
        "/npm/zarrita": (200, (FIX / "npm-zarrita.json").read_bytes()),
        "/cargo/za/rr/zarrs": (200, (FIX / "cargo-zarrs.txt").read_bytes()),
        "/maven/dev/zarr/zarr-java/maven-metadata.xml": (200, (FIX / "maven-zarr-java.xml").read_bytes()),
        "/go/github.com/exergy-dev/zarr-go/@v/list": (403, (FIX / "go-zarr-go-403.txt").read_bytes()),
        "/go/github.com/!tu!s!kan/go-zarr/@v/list": (200, b"v0.1.0\nv0.2.0\nv0.3.0-rc.1\n"),
        "/go/github.com/!tu!s!kan/go-zarr/@v/v0.2.0.mod": (200, b"module github.com/TuSKan/go-zarr\n\ngo 1.22\n"),
    }


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}
    seen: list = []

    def do_GET(self):
        self.seen.append((self.path, self.headers.get("User-Agent")))
        status, body = self.routes.get(self.path, (404, b""))
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


@pytest.fixture
def registry(monkeypatch):
    """A fake of every HTTP registry on 127.0.0.1; ZC_REGISTRY_<KIND> points the clients at it."""
    handler = type("H", (_Handler,), {"routes": _routes(), "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    for kind in KINDS:
        monkeypatch.setenv(f"ZC_REGISTRY_{kind.upper()}", f"{base}/{kind}")
    yield handler
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _matrix(tmp_path, impls: str) -> Path:
    p = tmp_path / "matrix.yaml"
    p.write_text("schema: 1\nimplementations:\n" + textwrap.indent(textwrap.dedent(impls), "  ")
                 + "stores:\n  local: {kind: local}\nprofiles:\n  smoke: {tier: smoke, stores: [local]}\n"
                 + "default_profile: smoke\n")
    return p


ZARR = """\
zarr-python:
  language: python
  dev: {kind: python, package: zarr}
  versions:
%s
"""


def _zarr(tmp_path, *versions):
    rows = "\n".join(f'    "{v}": {{python: "3.12", backend: zarr3}}' for v in versions)
    return _matrix(tmp_path, ZARR % rows)


def _run(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out + err


# --- the clients, on the registries' own answer shapes -------------------------------------------

def test_clients_parse_the_registries_answers(registry):
    refs = [PackageRef(kind="pypi", package="zarr"), PackageRef(kind="npm", package="zarrita"),
            PackageRef(kind="cargo", package="zarrs"), PackageRef(kind="maven", package="dev.zarr:zarr-java"),
            PackageRef(kind="go", package="github.com/exergy-dev/zarr-go"),
            PackageRef(kind="go", package="github.com/TuSKan/go-zarr"), PackageRef(kind="pypi", package="nothere")]
    got = V.ask_all(refs, V.Settings(retries=0, jobs=4))
    assert got["pypi:zarr"].newest == "3.4.2" and got["pypi:zarr"].requires == "python >=3.12"
    assert "3.2.0rc1" in got["pypi:zarr"].versions  # served, but a pre-release is never the newest
    assert got["npm:zarrita"].newest == "0.7.5"
    assert any("-" in v for v in got["npm:zarrita"].versions)
    assert got["cargo:zarrs"].newest == "0.23.14" and got["cargo:zarrs"].requires == "rust >=1.91"
    assert "0.22.0" not in got["cargo:zarrs"].versions  # yanked in the index
    assert got["maven:dev.zarr:zarr-java"].newest == "0.0.9"
    go = got["go:github.com/exergy-dev/zarr-go"]
    assert not go.served and go.status == 403 and go.text == "403 Forbidden: This module version is not available."
    tuskan = got["go:github.com/TuSKan/go-zarr"]  # the proxy's case encoding: !tu!s!kan
    assert tuskan.newest == "v0.2.0" and tuskan.requires == "go >=1.22"
    assert not got["pypi:nothere"].served and got["pypi:nothere"].status == 404
    assert all(ua.startswith("zarr-conformance/") for _, ua in registry.seen)
    assert all(not a.error and a.asked for a in got.values())


def test_yanked_and_deprecated_releases_are_not_newer(registry):
    doc = json.loads((FIX / "pypi-zarr.json").read_text())
    doc["releases"]["9.0.0"] = [dict(doc["releases"]["3.4.2"][0], yanked=True)]
    npm = json.loads((FIX / "npm-zarrita.json").read_text())
    npm["versions"]["9.0.0"] = dict(copy.deepcopy(npm["versions"]["0.7.5"]), version="9.0.0", deprecated="do not use")
    registry.routes.update({"/pypi/zarr/json": (200, json.dumps(doc).encode()),
                            "/npm/zarrita": (200, json.dumps(npm).encode())})
    got = V.ask_all([PackageRef(kind="pypi", package="zarr"), PackageRef(kind="npm", package="zarrita")],
                    V.Settings(retries=0))
    assert got["pypi:zarr"].newest == "3.4.2" and got["npm:zarrita"].newest == "0.7.5"


@pytest.mark.parametrize("kind, version, is_stable", [
    ("pypi", "3.2.0rc1", False), ("pypi", "3.4.2", True), ("pypi", "1.7.5.1.post1", True), ("pypi", "3.5.0.dev1", False),
    ("npm", "0.4.0-next.16", False), ("npm", "0.7.5", True), ("cargo", "0.23.0-beta.6", False),
    ("maven", "1.0.0-SNAPSHOT", False), ("maven", "2.0-M1", False), ("maven", "3.5.1", True),
    ("go", "v0.3.0-rc.1", False), ("go", "v0.0.0-20260212201848-7aac2a2c5b7c", False), ("go", "v1.2.0", True),
    ("apt", "1:4.9.0-3+b1", True), ("apt", "3.13.0~rc1-1", False),
])
def test_pre_releases_are_not_stable(kind, version, is_stable):
    assert (V.stable(kind, version) is not None) is is_stable


def test_debian_versions_compare_by_their_upstream_part():
    assert V.debian_upstream("1:4.9.0-3+b1") == "4.9.0"
    assert V.debian_upstream("3.6.2+dfsg-1+b2") == "3.6.2"
    assert V.same_version("apt", "2.13.6", "2.13.6+ds-1")
    assert not V.same_version("apt", "3.6.2", "3.8.4+dfsg-3ubuntu3")


def test_apt_policy_is_parsed():
    policy = textwrap.dedent("""\
        libgdal-dev:
          Installed: 3.6.2+dfsg-1+b2
          Candidate: 3.6.2+dfsg-1+b2
          Version table:
         *** 3.6.2+dfsg-1+b2 500
                500 http://mirror.example/debian bookworm/main amd64 Packages
                100 /var/lib/dpkg/status
        """)
    a = V.parse_apt_policy(V.Answer("apt", "libgdal-dev"), policy)
    assert a.served and a.newest == "3.6.2+dfsg-1+b2" and a.versions == ["3.6.2+dfsg-1+b2"]
    gone = V.parse_apt_policy(V.Answer("apt", "nothere"), "", "N: Unable to locate package nothere")
    assert not gone.served and gone.text == "N: Unable to locate package nothere"


def test_apt_refuses_to_answer_for_another_distribution(tmp_path):
    osr = tmp_path / "os-release"
    osr.write_text('ID=ubuntu\nPRETTY_NAME="Ubuntu 24.04 LTS"\n')
    fake = tmp_path / "apt-cache"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    settings = V.Settings(apt_cache=str(fake), os_release=osr)
    with pytest.raises(V.RegistryError, match="apt here answers for Ubuntu 24.04 LTS, not Debian"):
        V.ask_apt(None, PackageRef(kind="apt", package="libgdal-dev"), settings)


def test_crate_index_paths():
    assert [V.crate_index_path(n) for n in ("a", "ab", "abc", "zarrs", "Zarrs_N5")] == \
        ["1/a", "2/ab", "3/a/abc", "za/rr/zarrs", "za/rr/zarrs_n5"]


# --- the command: exit statuses -------------------------------------------------------------------

def test_a_lagging_pin_exits_1(registry, tmp_path, capsys):
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.1.6", "2.18.7"), "versions", "--retries", "0")
    assert code == 1, out
    assert "LAGS" in out and "newest 3.4.2 is not in the matrix" in out and "something lags" in out


def test_all_current_exits_0_and_older_versions_are_kept(registry, tmp_path, capsys):
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.4.2", "3.1.6", "2.18.7"), "versions", "--retries", "0")
    assert code == 0, out
    assert "older kept: 3.1.6, 2.18.7" in out and "nothing lags" in out


def test_an_unreachable_registry_exits_2_and_the_rest_is_still_reported(registry, tmp_path, capsys, monkeypatch):
    port = _closed_port()
    monkeypatch.setenv("ZC_REGISTRY_PYPI", f"http://127.0.0.1:{port}/pypi")
    m = _matrix(tmp_path, (ZARR % '    "3.4.2": {python: "3.12", backend: zarr3}') + textwrap.dedent("""\
        zarrs:
          language: rust
          dev: {kind: cargo, package: zarrs}
          adapter: command
          versions:
            "0.23.14": {}
        """))
    code, out = _run(capsys, "--matrix", m, "versions", "--retries", "0", "--timeout", "5")
    assert code == 2, out
    assert f"could not ask: GET http://127.0.0.1:{port}/pypi/zarr/json: cannot connect" in out
    assert "Connection refused" in out
    assert "cargo:zarrs" in out and "0.23.14" in out and "a registry could not be asked" in out


def test_a_server_error_is_retried_then_reported(registry, tmp_path, capsys):
    registry.routes["/pypi/zarr/json"] = (503, b"upstream unavailable")
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.4.2"), "versions", "--retries", "1", "--json")
    assert code == 2
    row = json.loads(out)["rows"][0]
    assert row["status"] == "error" and "/pypi/zarr/json" in row["note"] and "retries" in row["note"]
    assert sum(1 for p, _ in registry.seen if p == "/pypi/zarr/json") == 2  # once, and one retry


def test_unavailable_implementations_are_asked_again_and_never_gate(registry, tmp_path, capsys):
    m = _matrix(tmp_path, """\
        zarr-go:
          language: go
          adapter: command
          unavailable: not served by the Go module proxy
          registry: {kind: go, package: github.com/exergy-dev/zarr-go, also: [{kind: go, package: github.com/TuSKan/go-zarr}]}
          versions:
            "v0.1.0": {}
        """)
    code, out = _run(capsys, "--matrix", m, "versions", "--json")
    doc = json.loads(out)
    assert code == 0
    rows = {r["package"]: r for r in doc["rows"]}
    assert rows["github.com/exergy-dev/zarr-go"]["status"] == "unavailable"
    assert "still not served: 403 Forbidden: This module version is not available. (asked 20" in \
        rows["github.com/exergy-dev/zarr-go"]["note"]
    assert rows["github.com/TuSKan/go-zarr"]["status"] == "served-now"


def test_a_code_path_of_a_release_pins_the_release(registry, tmp_path, capsys, monkeypatch):
    """"3.4.2-obstore" (zarr-python 3.4.2 over another store) is release 3.4.2: current, and its lock
    agreeing with it; a lock of another release is a disagreement."""
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "zarr-python-3.4.2-obstore.txt").write_text("obstore==0.12.1\nzarr==3.4.2\n")
    monkeypatch.setattr(V, "LOCKS", locks)
    assert V.same_version("pypi", "3.4.2-obstore", "3.4.2") and not V.same_version("pypi", "3.4.2-obstore", "3.4.1")
    m = _zarr(tmp_path, "3.4.2-obstore", "3.1.6")
    code, out = _run(capsys, "--matrix", m, "versions", "--retries", "0")
    assert code == 0 and "nothing lags" in out and "the lock pins" not in out, out
    (locks / "zarr-python-3.4.2-obstore.txt").write_text("obstore==0.12.1\nzarr==3.4.1\n")
    code, out = _run(capsys, "--matrix", m, "versions", "--retries", "0")
    assert "zarr-python@3.4.2-obstore: the lock pins zarr 3.4.1" in out, out

# --- components: pins from the adapters' lock files -----------------------------------------------

def test_components_are_pinned_by_the_lock_files(registry, tmp_path, capsys, monkeypatch):
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "zarr-python-3.4.2.txt").write_text("numcodecs==0.17.1\n    # via zarr\nzarr==3.4.2\n")
    (locks / "zarr-python-2.18.7.txt").write_text("numcodecs==0.15.2\nzarr==2.18.7\n")
    monkeypatch.setattr(V, "LOCKS", locks)
    m = _matrix(tmp_path, ZARR % '    "3.4.2": {python: "3.12", backend: zarr3}\n    "2.18.7": {python: "3.11", backend: zarr2}'
                + "  registry: {components: [{kind: pypi, package: numcodecs}]}\n")
    code, out = _run(capsys, "--matrix", m, "versions", "--json")
    rows = {r["package"]: r for r in json.loads(out)["rows"]}
    assert code == 0, out
    assert rows["numcodecs"]["pinned_by"] == {"0.17.1": ["3.4.2"], "0.15.2": ["2.18.7"]}
    (locks / "zarr-python-3.4.2.txt").write_text("numcodecs==0.16.6\nzarr==3.4.2\n")
    code, out = _run(capsys, "--matrix", m, "versions")
    assert code == 1 and "newest 0.17.1 is not pinned by any lock file" in out
    # held: the library's own dependency range excludes the newest release (what its users get too)
    held = m.read_text().replace("package: numcodecs}", "package: numcodecs, held: zarr 3.4.2 requires numcodecs<0.17}")
    m.write_text(held)
    code, out = _run(capsys, "--matrix", m, "versions", "--json")
    row = {r["package"]: r for r in json.loads(out)["rows"]}["numcodecs"]
    assert code == 0 and row["status"] == "held", out
    assert row["note"] == "newest 0.17.1 held back: zarr 3.4.2 requires numcodecs<0.17"


def test_pins_are_read_from_package_lock_cargo_lock_and_pom(tmp_path):
    d = tmp_path / "adapter"
    d.mkdir()
    (d / "package-lock.json").write_text(json.dumps({"packages": {"node_modules/@zarrita/storage": {"version": "0.2.0"}}}))
    (d / "Cargo.lock").write_text('version = 4\n\n[[package]]\nname = "zarrs_n5"\nversion = "0.2.1"\n')
    (d / "pom.xml").write_text(textwrap.dedent("""\
        <project xmlns="http://maven.apache.org/POM/4.0.0">
          <properties><zarr-java.version>0.0.9</zarr-java.version></properties>
          <dependencies><dependency><groupId>dev.zarr</groupId><artifactId>zarr-java</artifactId>
            <version>${zarr-java.version}</version></dependency></dependencies>
        </project>"""))
    m = load_matrix(_matrix(tmp_path, f"""\
        x:
          language: java
          adapter: command
          build: {{dir: {d}}}
          versions:
            "1": {{}}
        """))
    impl = m.implementations["x"]
    assert V.locked_versions("x", impl, "1", PackageRef(kind="npm", package="@zarrita/storage")) == ["0.2.0"]
    assert V.locked_versions("x", impl, "1", PackageRef(kind="cargo", package="zarrs_n5")) == ["0.2.1"]
    assert V.locked_versions("x", impl, "1", PackageRef(kind="maven", package="dev.zarr:zarr-java")) == ["0.0.9"]


# --- recorded answers ----------------------------------------------------------------------------

def test_offline_answers(tmp_path, capsys):
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps({"pypi:zarr": {"versions": ["3.1.6", "3.4.2", "3.5.0rc1"], "requires": "python >=3.12"}}))
    m = _zarr(tmp_path, "3.1.6")
    code, out = _run(capsys, "--matrix", m, "versions", "--offline-answers", answers)
    assert code == 1 and "newest 3.4.2 is not in the matrix" in out and "recorded answers" in out
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.4.2"), "versions", "--offline-answers", answers)
    assert code == 0, out
    answers.write_text(json.dumps({"npm:zarrita": {"versions": ["0.7.5"]}}))
    code, out = _run(capsys, "--matrix", m, "versions", "--offline-answers", answers)
    assert code == 2 and "no answer for pypi:zarr in" in out


def test_json_output_can_be_judged_again_offline(registry, tmp_path, capsys):
    m = _zarr(tmp_path, "3.1.6")
    code, out = _run(capsys, "--matrix", m, "versions", "--json")
    recorded = tmp_path / "versions.json"
    recorded.write_text(out)
    doc = json.loads(out)
    assert code == 1 and doc["exit"] == 1 and doc["answers"]["pypi:zarr"]["newest"] == "3.4.2"
    again, text = _run(capsys, "--matrix", m, "versions", "--offline-answers", recorded)
    assert again == 1 and "LAGS" in text


def test_bad_offline_file_is_a_config_error(tmp_path, capsys):
    bad = tmp_path / "answers.json"
    bad.write_text("[1, 2]")
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.4.2"), "versions", "--offline-answers", bad)
    assert code == 2 and "expected a mapping" in out


def test_unknown_implementation_is_a_config_error(tmp_path, capsys):
    code, out = _run(capsys, "--matrix", _zarr(tmp_path, "3.4.2"), "versions", "zarr-pyton")
    assert code == 2 and "unknown implementation 'zarr-pyton' (did you mean 'zarr-python'?)" in out


# --- registry specs in the matrix ----------------------------------------------------------------

@pytest.mark.parametrize("spec, expect", [
    ("registry: {kind: pipy, package: zarr}", r"registry\.kind: .*unknown registry kind 'pipy'.*did you mean 'pypi'"),
    ("registry: {components: [{kind: deb, package: x}]}", r"components\.0\.kind: .*unknown registry kind 'deb'"),
    ("registry: {components: [{kind: pypi, pakage: x}]}", r"components\.0\.pakage: unknown key 'pakage' \(did you mean 'package'\?\)"),
    ("registry: {kind: maven, package: zarr-java}", r"maven package 'zarr-java' is not groupId:artifactId"),
    ("registry: {kind: go, package: zarr-go}", r"go package 'zarr-go' is not a module path"),
    ("registry: {kind: pypi, packages: zarr}", r"registry\.packages: unknown key 'packages' \(did you mean 'package'\?\)"),
])
def test_malformed_registry_specs_are_config_errors(tmp_path, spec, expect):
    m = _matrix(tmp_path, f"""\
        zarr-python:
          language: python
          {spec}
          versions:
            "3.4.2": {{python: "3.12", backend: zarr3}}
        """)
    with pytest.raises(ConfigError, match=expect):
        load_matrix(m)


def test_a_prefix_build_must_name_its_registry_package(tmp_path):
    m = _matrix(tmp_path, """\
        gdal:
          language: c++
          adapter: command
          dev: {kind: prefix, package: gdal}
          registry: {components: [{kind: apt, package: gdal-bin}]}
          versions:
            "3.6.2": {}
        """)
    with pytest.raises(ConfigError, match=r"implementations\.gdal: .*registry: write its kind and package "
                                          r"\(the dev spec names no registry package\)"):
        load_matrix(m)


def test_a_version_from_another_registry(registry, tmp_path, capsys):
    m = _matrix(tmp_path, ZARR % ('    "3.4.2": {python: "3.12", backend: zarr3}\n'
                                  '    "2.13.6": {python: "3.11", backend: zarr2, registry: {kind: apt, package: python3-zarr}}'))
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"pypi:zarr": {"versions": ["3.4.2"]}, "apt:python3-zarr": {"versions": ["2.13.6+ds-1"]}}))
    code, out = _run(capsys, "--matrix", m, "versions", "--offline-answers", answers, "--json")
    rows = {r["package"]: r for r in json.loads(out)["rows"]}
    assert code == 0 and rows["zarr"]["pinned"] == ["3.4.2"] and rows["python3-zarr"]["pinned"] == ["2.13.6"]


def test_every_implementation_of_the_project_matrix_names_its_registry():
    rows = V.plan_rows(load_matrix())
    assert rows and not [r.implementation for r in rows if r.status == "undeclared"]
    unavailable = {n for n, i in load_matrix().implementations.items() if i.unavailable}
    assert unavailable and all(r.role == "candidate" for r in rows if r.implementation in unavailable)


def test_a_version_whose_package_bundles_the_library(tmp_path, capsys, monkeypatch):
    """GDAL 3.12.2 as rasterio's wheel bundles it: the version names the library, the pin is the
    package's version in the version's lock file, and a rasterio release newer than the lock lags."""
    locks = tmp_path / "locks"
    locks.mkdir()
    (locks / "gdal-3.12.2.txt").write_text("numpy==2.4.6\nrasterio==1.5.2\n    # via -r gdal-3.12.2.in\n")
    monkeypatch.setattr(V, "LOCKS", locks)
    m = _matrix(tmp_path, """\
        gdal:
          language: c++
          adapter: command
          command: [zc-gdal]
          registry: {kind: apt, package: libgdal-dev}
          versions:
            "3.6.2": {}
            "3.12.2": {adapter: python, language: python, python: "3.12", backend: gdal,
                       registry: {kind: pypi, package: rasterio}}
        """)
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({"apt:libgdal-dev": {"versions": ["3.6.2+dfsg-1+b2"]},
                                   "pypi:rasterio": {"versions": ["1.4.4", "1.5.2"]}}))
    code, out = _run(capsys, "--matrix", m, "versions", "--offline-answers", answers, "--json")
    rows = {r["package"]: r for r in json.loads(out)["rows"]}
    assert code == 0, out
    assert rows["rasterio"]["pinned_by"] == {"1.5.2": ["3.12.2"]} and rows["rasterio"]["status"] == "current"
    assert rows["libgdal-dev"]["pinned"] == ["3.6.2"]
    answers.write_text(json.dumps({"apt:libgdal-dev": {"versions": ["3.6.2+dfsg-1+b2"]},
                                   "pypi:rasterio": {"versions": ["1.5.2", "1.6.0"]}}))
    code, out = _run(capsys, "--matrix", m, "versions", "--offline-answers", answers)
    assert code == 1 and "newest 1.6.0 is not in the matrix" in out
