"""matrix.yaml validation: errors name the file, the key and what was expected."""

import textwrap

import pytest

from harness.matrix import ConfigError, load_matrix
from conftest import run_cli

GOOD = textwrap.dedent("""
    schema: 1
    implementations:
      zarr-python:
        language: python
        versions:
          "3.1.6": {python: "3.12", backend: zarr3}
    stores:
      local: {kind: local}
    profiles:
      smoke: {tier: smoke, stores: [local]}
    default_profile: smoke
""")


def write(tmp_path, text):
    p = tmp_path / "matrix.yaml"
    p.write_text(text)
    return p


def test_project_matrix_loads():
    m = load_matrix()
    assert "zarr-python@3.1.6" in [iv.id for iv in m.impl_versions()]
    assert m.default_profile in m.profiles


def test_good_matrix(tmp_path):
    m = load_matrix(write(tmp_path, GOOD))
    assert [iv.id for iv in m.impl_versions()] == ["zarr-python@3.1.6"]


def test_verbs_say_what_an_implementation_does(tmp_path):
    """`verbs:` left out: both; [write]: a writer only."""
    iv, = load_matrix(write(tmp_path, GOOD)).impl_versions()
    assert iv.does("read") and iv.does("write")
    iv, = load_matrix(write(tmp_path, GOOD.replace("language: python", "language: python\n    verbs: [write]"))).impl_versions()
    assert iv.does("write") and not iv.does("read")
    m = load_matrix()
    assert m.implementations["acquire-zarr"].verbs == ["write"]
    assert m.implementations["zarr-js-freeman"].verbs == ["read"]


@pytest.mark.parametrize("change, expect", [
    (("language: python", "langauge: python"), ["implementations.zarr-python.langauge", "unknown key", "did you mean 'language'"]),
    (("language: python", "language: cobol"), ["implementations.zarr-python.language", "cobol"]),
    (('python: "3.12"', "python: 3.12"), ["implementations.zarr-python.versions.3.1.6.python", 'as a string']),
    (("kind: local", "kind: ftp"), ["stores.local.kind", "ftp"]),
    (("stores: [local]", "stores: [locl]"), ["profiles.smoke.stores", "unknown store 'locl'", "did you mean 'local'"]),
    (("tier: smoke", "tier: huge"), ["profiles.smoke.tier", "huge"]),
    (("backend: zarr3}", "backend: zarr3, stors: [local]}"), ["versions.3.1.6.stors", "did you mean 'stores'"]),
    (("backend: zarr3}", "backend: zarr3, stores: [locl]}"),
     ["implementations.zarr-python.versions.3.1.6.stores: unknown store 'locl'", "did you mean 'local'"]),
    (("schema: 1", "schema: 2"), ["schema"]),
    (("language: python", "language: python\n    verbs: [reed]"), ["implementations.zarr-python.verbs", "reed"]),
    (("language: python", "language: python\n    verbs: []"), ["verbs: name read or write"]),
    (("language: python", "language: python\n    verbs: [write, write]"), ["verbs: a verb is named twice"]),
    (("default_profile: smoke", "default_profile: smoky"), ["did you mean 'smoke'"]),
])
def test_schema_errors_name_file_key_and_expectation(tmp_path, change, expect):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as exc:
        load_matrix(path)
    msg = str(exc.value)
    assert str(path) in msg
    for part in expect:
        assert part in msg, msg


def test_missing_key(tmp_path):
    with pytest.raises(ConfigError, match=r"implementations\.zarr-python\.versions: required key is missing"):
        load_matrix(write(tmp_path, GOOD.replace('versions:\n      "3.1.6": {python: "3.12", backend: zarr3}', "")))


def test_not_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_matrix(write(tmp_path, "schema: [1\n"))


def test_cli_exit_2_on_bad_matrix(tmp_path):
    path = write(tmp_path, GOOD.replace("language: python", "langauge: python"))
    proc = run_cli("--matrix", path, "run", "--quiet")
    assert proc.returncode == 2
    assert "did you mean 'language'" in proc.stderr


@pytest.mark.parametrize("args, expect", [
    (["--readers", "zarr-pyton"], "unknown reader implementation 'zarr-pyton' (did you mean 'zarr-python'?)"),
    (["--writers", "tensorstore@9"], "unknown writer implementation 'tensorstore@9'"),
    (["--cases", "v9/nothing/*"], "no case matches"),
    (["--stores", "s3-motto"], "did you mean 's3-moto'"),
    (["--profile", "smoek"], "did you mean 'smoke'"),
    (["--jobs", "0"], "--jobs must be at least 1"),
])
def test_cli_usage_errors_exit_2(args, expect):
    proc = run_cli("run", "--quiet", *args)
    assert proc.returncode == 2, proc.stderr
    assert expect in proc.stderr


def test_list_json():
    import json

    proc = run_cli("list", "implementations", "--json")
    assert proc.returncode == 0
    ids = [r["id"] for r in json.loads(proc.stdout)]
    assert "tensorstore@0.1.86" in ids
    proc = run_cli("list", "cases", "--json", "--profile", "smoke")
    cases = json.loads(proc.stdout)
    assert cases and all(c["tier"] == "smoke" for c in cases)


def test_list_says_which_implementations_are_ready_and_why_not(tmp_path):
    """Found without building: a missing lock or toolchain is "not available" with the reason, an
    environment not yet made is "not set up" with the command, a matrix's `unavailable:` is listed too."""
    import json

    text = GOOD.replace('"3.1.6": {python: "3.12", backend: zarr3}', '"0.0.1-nolock": {python: "3.12", backend: zarr3}')
    text = text.replace("\nstores:\n", """
  built:
    language: rust
    adapter: command
    command: ["{root}/nowhere/adapter"]
    build: {dir: readers/zarrs-rs, requires: [no-such-toolchain-zc], steps: [[no-such-toolchain-zc]]}
    versions:
      "1": {}
  goner:
    language: go
    unavailable: the registry answers 403 Forbidden
    versions:
      "1": {}
stores:
""", 1)
    proc = run_cli("--matrix", write(tmp_path, text), "list", "implementations", "--json")
    assert proc.returncode == 0, proc.stderr
    rows = {r["id"]: r for r in json.loads(proc.stdout)}
    assert rows["zarr-python@0.0.1-nolock"]["status"].startswith("not available: no lock file")
    assert rows["built@1"]["status"] == "not available: needs no-such-toolchain-zc on PATH"
    assert rows["goner@1"]["status"] == "not available: the registry answers 403 Forbidden"
    assert not any(r["available"] for r in rows.values())
    from harness.environments import readiness

    iv = next(iv for iv in load_matrix().impl_versions() if iv.id == "zarr-python@3.4.2")
    assert readiness(iv) in ("available", "not set up: zarr-conformance setup zarr-python@3.4.2")


def test_fake_matrix_pins_the_same_minio():
    from conftest import FAKE_MATRIX

    assert load_matrix(FAKE_MATRIX).minio_version == load_matrix().minio_version
    assert load_matrix(FAKE_MATRIX).fake_gcs_version == load_matrix().fake_gcs_version


def test_debian_package_lists(tmp_path):
    """A version of Debian's package names its Debian packages; a name apt would refuse is an error."""
    deb = GOOD.replace('"3.1.6": {python: "3.12", backend: zarr3}',
                       '"2.13.6-debian": {backend: zarr2, debian: [python3-zarr, python3-numcodecs], '
                       'registry: {kind: apt, package: python3-zarr}}')
    (iv,) = load_matrix(write(tmp_path, deb)).impl_versions()
    assert iv.spec.debian == ["python3-zarr", "python3-numcodecs"] and iv.spec.registry.key == "apt:python3-zarr"
    with pytest.raises(ConfigError, match=r"versions\.2\.13\.6-debian\.debian.*'Python3 Zarr' is not a Debian package name"):
        load_matrix(write(tmp_path, deb.replace("python3-numcodecs", "Python3 Zarr")))


MIXED = textwrap.dedent("""
    schema: 1
    implementations:
      gdal:
        language: c++
        adapter: command
        command: ["{root}/readers/gdal/build/zc-gdal"]
        build: {dir: readers/gdal, steps: [[make]], inputs: ["*.cpp"]}
        repro: {template: readers/gdal/repro, run: [./repro]}
        versions:
          "3.6.2": {}
          "3.12.2": {adapter: python, language: python, python: "3.12", backend: gdal}
    stores:
      local: {kind: local}
    profiles:
      smoke: {tier: smoke, stores: [local]}
    default_profile: smoke
""")


def test_a_version_with_an_adapter_of_its_own(tmp_path):
    """One library at two versions through two adapters: each version says what it uses, and the
    implementation's command, build and reproducer stay with the versions that use its adapter."""
    old, new = load_matrix(write(tmp_path, MIXED)).impl_versions()
    assert (old.adapter, old.language, old.own_adapter) == ("command", "c++", False)
    assert old.command == ["{root}/readers/gdal/build/zc-gdal"] and old.build.dir == "readers/gdal"
    assert old.repro.template == "readers/gdal/repro"
    assert (new.adapter, new.language, new.own_adapter) == ("python", "python", True)
    assert new.command is None and new.build is None and new.repro is None
    from harness.repro import repro_spec

    template, cmd, _ = repro_spec(new)
    assert template.name == "gdal.py.j2" and cmd == ["{env}/bin/python", "{bundle}/repro.py"]


@pytest.mark.parametrize("version, expect", [
    ('{adapter: python, python: "3.12"}', r"versions\.3\.12\.2: adapter: python needs backend"),
    ('{adapter: python, backend: gdal, python: "3.12", command: [x]}', "a python adapter runs a backend .*not a command"),
    ('{backend: gdal}', "backend belong to python adapters; this version's adapter is a command"),
    ('{adapter: pyhton, backend: gdal}', r"versions\.3\.12\.2\.adapter"),
])
def test_version_adapter_errors(tmp_path, version, expect):
    text = MIXED.replace('{adapter: python, language: python, python: "3.12", backend: gdal}', version)
    with pytest.raises(ConfigError, match=expect):
        load_matrix(write(tmp_path, text))


def test_project_gdal_versions():
    """GDAL 3.6.2 through the C++ adapter over Debian's libgdal, 3.12.2 through the Python backend over
    rasterio's bundled libgdal, pinned by its own lock file."""
    from harness.environments import python_lock

    ivs = {iv.version: iv for iv in load_matrix().impl_versions() if iv.name == "gdal"}
    assert ivs["3.6.2"].adapter == "command" and ivs["3.12.2"].adapter == "python"
    assert ivs["3.12.2"].spec.backend == "gdal" and python_lock(ivs["3.12.2"]).exists()
    assert "rasterio==" in python_lock(ivs["3.12.2"]).read_text()


def test_a_dev_build_must_match_its_base_versions_adapter(tmp_path):
    """The dev spec (here: a prefix build of the C++ adapter) cannot replace the library of a version
    that uses a Python backend: `ci --base` on that version is refused with the reason."""
    from harness import devbuild
    from harness.environments import NotAvailable

    text = MIXED.replace("    versions:\n", "    dev: {kind: prefix, package: gdal}\n"
                         "    registry: {kind: apt, package: libgdal-dev}\n    versions:\n")
    text = text.replace('backend: gdal}', 'backend: gdal}\n'
                        f'      "dev": {{adapter: python, language: python, python: "3.12", backend: gdal, '
                        f'source: "{tmp_path}", base: "3.12.2"}}')
    ivs = {iv.version: iv for iv in load_matrix(write(tmp_path, text)).impl_versions()}
    with pytest.raises(NotAvailable, match=r"kind prefix.*gdal@3\.12\.2 uses a python adapter.*--base"):
        devbuild.check_source(ivs["dev"])
