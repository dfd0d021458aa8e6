"""Every workflow file in the repository passes actionlint (built at a pinned version by
scripts/install-actionlint.sh, from the Go module proxy)."""

import os
import shutil
import subprocess

import pytest

from conftest import ROOT

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint():
    if not shutil.which("go") and not os.environ.get("CI"):
        pytest.skip("Go is not installed (actionlint is built with it)")
    proc = subprocess.run([str(ROOT / "scripts" / "install-actionlint.sh")], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_there_are_workflows():
    names = {p.name for p in WORKFLOWS}
    assert {"ci.yml", "conformance.yml", "publish.yml", "versions.yml"} <= names


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint(actionlint, workflow):
    proc = subprocess.run([actionlint, "-no-color", str(workflow)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_projects_ci_runs_the_readmes_test_command():
    text = (ROOT / ".github" / "workflows" / "ci.yml").read_text()
    assert ".ci/run" in text
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_reusable_workflow_runs_exactly_the_ci_command():
    text = (ROOT / ".github" / "workflows" / "conformance.yml").read_text()
    assert "workflow_call" in text and "zarr-conformance \"${args[@]}\"" in text and "args=(ci --target" in text


def test_the_publish_workflow_builds_the_site_with_its_history_and_deploys_it_with_pages_actions():
    import yaml

    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in on and "workflow_dispatch" in on
    steps = wf["jobs"]["build"]["steps"]
    uses = [s.get("uses", "") for s in steps]
    assert any(u.startswith("actions/configure-pages@") for u in uses)
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    script = "\n".join(s.get("run", "") for s in steps)
    assert "zarr-conformance run --profile" in script and '--runner "$RUNNER"' in script
    assert "zarr-conformance publish reports/publish --out site --history" in script
    deploy = wf["jobs"]["deploy"]
    assert deploy["needs"] == "build" and deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert [s["uses"].split("@")[0] for s in deploy["steps"]] == ["actions/deploy-pages"]
    # The scripts it calls exist.
    for path in ("scripts/install-minio.sh", "scripts/install-fake-gcs.sh", "scripts/install-azurite.sh",
                 "bench/site_size.py"):
        assert (ROOT / path).exists(), path


def test_the_weekly_versions_workflow_gates_on_the_versions_command():
    text = (ROOT / ".github" / "workflows" / "versions.yml").read_text()
    assert "schedule:" in text and "cron:" in text and "workflow_dispatch:" in text
    assert "zarr-conformance versions --apt-update --json > versions.json" in text
    assert "actions/upload-artifact" in text and "versions.json" in text
    assert "steps.versions.outputs.status != '0'" in text and "exit 1" in text
