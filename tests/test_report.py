"""The report: self-contained HTML, rendered by a real browser (headless Chromium)."""

import json
import os
import re
import shutil
import subprocess
import tempfile

import pytest

from conftest import FAKE_MATRIX, finding, run_cli, write_findings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = run_cli("--matrix", FAKE_MATRIX, "run", "--cases", "v2/int16/zlib/edge,v3/float64/zstd/edge,n5/int16/raw/edge,v3/int16/zstd/sparse",
                   "--writers", "fake", "--readers", "fake,fake-transpose", "--stores", "local,s3-moto",
                   "--out", out, "--no-findings", "--quiet")
    assert proc.returncode == 1, proc.stderr
    return out


def test_artifacts(run_dir):
    for name in ("results.jsonl", "run.json", "report.html", "junit.xml", "summary.md", "writes.jsonl"):
        assert (run_dir / name).exists(), name
    junit = (run_dir / "junit.xml").read_text()
    # 4 cases x 2 readers x local + s3-moto signed, and the sparse case under the 3 other access modes
    assert junit.count("<testcase") == 4 * 2 * 2 + 3 * 2 and "<failure" in junit
    summary = (run_dir / "summary.md").read_text()
    assert "unexpected" in summary and "fake-transpose@1" in summary
    run = json.loads((run_dir / "run.json").read_text())
    assert run["stores"]["s3-moto"]["version"].startswith("moto ")
    assert set(run["implementations"]) == {"fake@good", "fake-transpose@1"}


def test_report_is_self_contained(run_dir):
    html = (run_dir / "report.html").read_text()
    assert not re.search(r'(src|href)="https?://', html), "no network resources"
    assert "transposed (axes reversed)" in html


def test_report_rejudges_with_the_findings_of_now(run_dir, tmp_path):
    """Editing a finding and re-rendering needs no new run: `report` judges the records again."""
    (run_dir / "report.html").unlink()
    before = run_cli("report", run_dir, "--no-findings")
    assert before.returncode == 1 and (run_dir / "report.html").exists()
    assert json.loads((run_dir / "run.json").read_text())["unexpected"] == 11
    fdir = write_findings(tmp_path / "findings", "fake-transpose", [
        finding("fake-transposes", "the fake transposes 2-d arrays", ["mismatch"], [{"reader": "fake-transpose@*"}],
                error="transposed (axes reversed)")])
    after = run_cli("report", run_dir, "--findings", fdir)
    assert after.returncode == 0, after.stdout + after.stderr
    run = json.loads((run_dir / "run.json").read_text())
    assert run["unexpected"] == 0 and run["findings"]["explaining"] == 1
    html = (run_dir / "report.html").read_text()
    assert "the fake transposes 2-d arrays" in html
    assert "fake-transposes" in (run_dir / "summary.md").read_text()
    # The finding narrowed to one format: the other formats' cells are unexpected again.
    write_findings(fdir, "fake-transpose", [
        finding("fake-transposes", "the fake transposes 2-d arrays", ["mismatch"], [{"format": "zarr2"}])])
    assert run_cli("report", run_dir, "--findings", fdir).returncode == 1
    assert 0 < json.loads((run_dir / "run.json").read_text())["unexpected"] < 11


def dom(path, extra=()):
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=3000", *extra, "--dump-dom", f"file://{path}"],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.browser
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"), reason="chromium not installed (CI installs it)")
def test_report_in_headless_chromium(run_dir):
    html = dom(run_dir / "report.html")
    # The script ran: exactly one matrix view is active, and it has the readers as columns.
    active = re.findall(r'<section class="view active" data-store="([^"]+)" data-access="([^"]*)" data-format="([^"]+)"', html)
    assert len(active) == 1, active
    sections = html.split('<section class="view')
    active_html = next(s for s in sections if s.startswith(' active'))
    assert active_html.count('class="reader"') == 2
    assert re.search(r'class="cell o-pass', active_html)
    assert re.search(r'class="cell o-mismatch unexpected', html)
    # Stores, access modes and formats are switchable.
    assert "<option>local</option>" in html and "<option>s3-moto</option>" in html
    assert "<option>signed</option>" in html and "<option>forbidden-chunk</option>" in html
    for fmt in ("zarr2", "zarr3", "n5"):
        assert f'<option>{fmt}</option>' in html
