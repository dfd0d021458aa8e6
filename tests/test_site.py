"""The published site (`zarr-conformance publish`): built from two small real runs of the fake adapters in
which one library moves from version 1.0 (reads right) to 1.1 (transposes 2-d arrays), and a case is added.
Unit tests read the data files; the browser tests drive the pages in headless Chromium (Playwright)."""

import json
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from conftest import FAKE_MATRIX, ROOT, finding, run_cli, write_findings

sys.path.insert(0, str(ROOT / "tests" / "browser"))
from driver import Browser, unavailable  # noqa: E402

CASES_1 = "v2/int16/zlib/edge,v3/float64/zstd/edge,n5/int16/raw/edge"
CASES_2 = CASES_1 + ",v3/int16/zstd/sparse"  # a new case in the second run


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two runs, their findings and the site built from both: {dir: Path}."""
    tmp = tmp_path_factory.mktemp("site")
    matrix = yaml.safe_load(FAKE_MATRIX.read_text())
    script = "{root}/tests/fixtures/fake_adapter.py"
    matrix["implementations"]["fake-lib"] = {
        "language": "python", "adapter": "command", "timeout": 5,
        "command": ["{python}", script, "--mode", "good"],
        "repro": {"template": "tests/fixtures/repro-fake.py.j2", "run": ["python3", "{bundle}/repro-fake.py"]},
        "versions": {"1.0": {}, "1.1": {"command": ["{python}", script, "--mode", "transpose"]}}}
    (tmp / "matrix.yaml").write_text(yaml.safe_dump(matrix, sort_keys=False))
    fdir = write_findings(tmp / "findings", "fake-lib", [
        finding("fake-lib-transposes", "fake-lib 1.1 reads 2-d arrays transposed", ["mismatch"],
                [{"reader": "fake-lib@1.1"}], error="transposed (axes reversed)")])
    env = {"ZC_CACHE": str(tmp / "cache")}
    for name, cases, lib in (("r1", CASES_1, "fake-lib@1.0"), ("r2", CASES_2, "fake-lib@1.1")):
        proc = run_cli("--matrix", tmp / "matrix.yaml", "run", "--cases", cases, "--writers", "fake",
                       "--readers", f"fake,{lib}", "--stores", "local,s3-moto", "--out", tmp / name,
                       "--findings", fdir, "--quiet", env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    proc = run_cli("--matrix", tmp / "matrix.yaml", "publish", tmp / "r1", tmp / "r2", "--out", tmp / "site",
                   "--findings", fdir, "--repro", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {"tmp": tmp, "site": tmp / "site", "findings": fdir, "env": env, "matrix": tmp / "matrix.yaml"}


def data(site, rel):
    return json.loads((site / "data" / rel).read_text())


def latest_files(site):
    runs = data(site, "runs.json")
    latest = next(r for r in runs["runs"] if r["id"] == runs["latest"])
    return runs, latest


# --- the site as files ---------------------------------------------------------------------------------

def test_pages_and_data_files(built):
    site = built["site"]
    for page in ("index.html", "safe.html", "implementations.html", "impl/fake-lib.html", "impl/fake.html",
                 "findings.html", "grid.html", "history.html", "data.html"):
        assert (site / page).is_file(), page
    index = data(site, "index.json")
    assert index["schema"].startswith("zarr-conformance/site-index@")
    runs, latest = latest_files(site)
    assert len(runs["runs"]) == 2 and latest["previous"]
    for key in ("run", "cells", "writes", "parquet", "diff", "page"):
        assert (site / ("" if key == "page" else "data") / latest["files"][key]).is_file(), key
    # The grid's data: one chunk per format, store and access mode, as scripts (file:// loads them).
    chunks = index["grid"]["chunks"]
    assert {(c["format"], c["store"]) for c in chunks} >= {("zarr2", "local"), ("zarr3", "s3-moto"), ("n5", "local")}
    for c in chunks:
        assert (site / c["src"]).read_text().startswith("ZC.chunk(")


def test_nothing_loads_from_outside(built):
    import re

    for page in built["site"].rglob("*.html"):
        html = page.read_text()
        assert not re.search(r'<(script|link|img)[^>]+(src|href)="(https?:)?//', html), page
    # The pinned front-end library is in the site itself.
    assert (built["site"] / "assets" / "vendor" / "uPlot.iife.min.js").is_file()


def test_cells_json_and_parquet_agree(built):
    import pyarrow.parquet as pq

    from harness.site.data import decode_table

    site = built["site"]
    _, latest = latest_files(site)
    table = data(site, latest["files"]["cells"])
    assert table["schema"] == "zarr-conformance/cells@1"
    cells = decode_table(table)
    assert len(cells) == table["count"] > 0
    pt = pq.read_table(site / "data" / latest["files"]["parquet"])
    assert pt.num_rows == len(cells)
    assert pt.schema.metadata[b"zarr-conformance.schema"] == b"zarr-conformance/cells@1"
    assert sorted(pt.column("outcome").to_pylist()) == sorted(c["outcome"] for c in cells)
    mism = [c for c in cells if c["outcome"] == "mismatch"]
    assert mism and all(c["reader"] == "fake-lib@1.1" and c["finding"] == "fake-lib-transposes" for c in mism)


def test_diff_shows_the_version_bump_and_its_cells(built):
    site = built["site"]
    _, latest = latest_files(site)
    d = data(site, latest["files"]["diff"])
    assert d["schema"].startswith("zarr-conformance/diff@")
    bump = [b for b in d["versions"]["bumps"] if b["name"] == "fake-lib"]
    assert bump and bump[0]["from_version"] == "1.0" and bump[0]["to_version"] == "1.1"
    assert bump[0]["cells_changed"] > 0
    groups = {(g["before"], g["after"]): g for g in d["groups"]}
    broke = groups[("pass", "mismatch")]
    assert broke["kind"] == "new-failure" and broke["count"] == bump[0]["cells_changed"]
    assert all(c["reader"] == "fake-lib@1.1" and c["before_reader"] == "fake-lib@1.0" for c in broke["cells"])
    assert d["cases"]["added"] == ["v3/int16/zstd/sparse"]
    assert d["cells"]["new"] > 0 and d["cells"]["gone"] == 0
    assert d["findings"]["newly_explaining"] == ["fake-lib-transposes"]


def test_findings_data_name_their_reproducer(built):
    site = built["site"]
    f = next(x for x in data(site, "findings.json")["findings"] if x["id"] == "fake-lib-transposes")
    assert f["cells"] > 0 and f["severity"] == "wrong-values"
    assert f["repro"]["file"].endswith(".tar.gz") and (site / f["repro"]["file"]).is_file()
    assert "zarr-conformance repro fake-lib-transposes" in f["command"]
    import tarfile

    with tarfile.open(site / f["repro"]["file"]) as tar:
        names = tar.getnames()
    assert any(n.endswith("/run.sh") for n in names) and any(n.endswith("/expected.json") for n in names)


def test_history_goes_on_from_a_published_site(built, tmp_path):
    """A site built from the second run alone, with the first site as its history, diffs as the one above."""
    first = tmp_path / "first"
    env = built["env"]
    assert run_cli("publish", built["tmp"] / "r1", "--out", first, "--findings", built["findings"],
                   env=env).returncode == 0
    proc = run_cli("publish", built["tmp"] / "r2", "--out", tmp_path / "second", "--history", first,
                   "--findings", built["findings"], env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    runs, latest = latest_files(tmp_path / "second")
    assert len(runs["runs"]) == 2 and latest["diff"]["new_failures"] > 0 and latest["diff"]["bumps"] == 1
    # Republishing over a site replaces it; anything else in the way is refused.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    refused = run_cli("publish", built["tmp"] / "r2", "--out", tmp_path / "other", "--findings", built["findings"],
                      env=env)
    assert refused.returncode == 2 and "not a site made by publish" in refused.stderr
    assert (tmp_path / "other" / "notes.txt").exists()


def test_history_counts_per_implementation(built):
    runs, _ = latest_files(built["site"])
    per_run = [r["summary"]["implementations"] for r in runs["runs"]]
    assert per_run[0]["fake-lib@1.0"]["reads"].get("mismatch", 0) == 0
    assert per_run[1]["fake-lib@1.1"]["reads"]["mismatch"] > 0


# --- the model, on its own -------------------------------------------------------------------------------

def test_pair_versions():
    from harness.site.model import pair_versions

    p = pair_versions(["zp@2.18.7", "zp@3.0.10", "ts@1"], ["zp@2.18.7", "zp@3.1.6", "new@1"])
    assert p.to_current == {"zp@2.18.7": "zp@2.18.7", "zp@3.0.10": "zp@3.1.6"}
    assert [(b["from"], b["to"]) for b in p.bumps] == [("zp@3.0.10", "zp@3.1.6")]
    assert p.added == ["new@1"] and p.removed == ["ts@1"]


def test_share_text_never_rounds_a_failure_away():
    from harness.site.model import share_text

    assert share_text({"pass": 999, "error": 1}) == ">99"
    assert share_text({"pass": 1, "error": 999}) == "<1"
    assert share_text({"pass": 5}) == "100" and share_text({"skipped": 3}) == "–"


# --- in headless Chromium ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    why = unavailable()
    if why:
        pytest.skip(why)
    with Browser() as b:
        yield b
    assert not b.outside, f"requests outside the site: {b.outside}"


def _clean(b):
    errors, b.errors[:] = list(b.errors), []
    assert not errors, errors


@pytest.mark.browser
def test_landing_heatmap_and_a_click_to_the_cells(built, browser):
    b = browser
    b.goto(built["site"] / "index.html")
    heat = b.eval("""() => [...document.querySelectorAll('table.heatmap')].map(t => ({
        rows: t.querySelectorAll('tbody tr').length, links: t.querySelectorAll('td.sh a').length,
        text: [...t.querySelectorAll('td.sh a')].map(a => a.textContent)}))""")
    assert len(heat) == 3 and all(h["links"] for h in heat)
    # The pair fake -> fake-lib@1.1 in Zarr v2 passes in none of its cells and says so with a mark, not colour.
    v2 = b.eval("() => document.querySelector('#heat-zarr2 a[aria-label*=\"fake-lib@1.1\"]').textContent")
    assert v2.startswith("0") and "≠" in v2
    # Keyboard: arrow keys move between the heatmap's links.
    b.call("focus", selector="#heat-zarr2 td.sh a")
    first = b.eval("() => document.activeElement.getAttribute('aria-label')")
    b.call("press", key="ArrowRight")
    assert b.eval("() => document.activeElement.getAttribute('aria-label')") != first
    # A click goes to that pair's cells in the grid.
    b.click('#heat-zarr2 a[aria-label*="fake-lib@1.1"]')
    assert "grid.html#" in b.eval("() => location.href")
    b.wait("table.grid tbody tr")
    cells = b.eval("() => [...document.querySelectorAll('table.grid tbody td.cell')].map(td => td.className)")
    assert cells and all("o-mismatch" in c for c in cells)
    assert b.eval("() => document.getElementById('g-reader').value") == "fake-lib@1.1"
    _clean(b)


@pytest.mark.browser
def test_grid_filters(built, browser):
    b = browser
    b.goto(built["site"] / "grid.html", "format=zarr3&store=all")
    b.wait("table.grid tbody tr")
    rows = lambda: b.eval("() => document.querySelectorAll('table.grid tbody tr').length")  # noqa: E731
    everything = rows()
    assert everything >= 4  # two cases, local and s3-moto (and the access modes of the sparse one)
    heads = lambda: b.eval("() => [...document.querySelectorAll('table.grid thead th.rd')].map(th => th.textContent)")  # noqa: E731
    assert heads() == ["fake-lib@1.1", "fake@good"]
    b.call("select", selector="#g-reader", value="fake@good")
    b.wait("table.grid tbody tr")
    assert heads() == ["fake@good"] and rows() == everything
    b.call("select", selector="#g-outcome", value="mismatch")
    assert rows() == 0 and "nothing matches" in b.text("#g-status")
    b.call("select", selector="#g-reader", value="")
    b.wait("table.grid tbody tr")
    assert rows() == everything
    marks = b.eval("() => [...document.querySelectorAll('table.grid tbody tr')].map(tr => tr.textContent)")
    assert all("≠" in m for m in marks)
    assert "outcome=mismatch" in b.eval("() => location.hash")
    b.call("select", selector="#g-outcome", value="")
    b.call("fill", selector="#g-case", value="sparse")
    b.eval("() => new Promise(r => setTimeout(r, 400))")
    cases = b.eval("() => [...document.querySelectorAll('table.grid tbody td.case')].map(td => td.textContent)")
    assert cases and all("sparse" in c for c in cases)
    # A cell opens its detail panel from the keyboard, and Escape closes it.
    b.call("focus", selector='table.grid td[tabindex="0"]')
    b.call("press", key="Enter")
    assert b.eval("() => !document.getElementById('detail').hidden")
    b.call("press", key="Escape")
    assert b.eval("() => document.getElementById('detail').hidden")
    _clean(b)


@pytest.mark.browser
def test_findings_page_links_reproducers(built, browser):
    b = browser
    b.goto(built["site"] / "findings.html")
    href = b.eval("() => document.querySelector('#fake-lib-transposes a.download').getAttribute('href')")
    assert href.endswith(".tar.gz") and (built["site"] / href).is_file()
    b.call("fill", selector="#finding-filter", value="nothing like this")
    assert b.eval("() => document.getElementById('fake-lib-transposes').hidden")
    _clean(b)


@pytest.mark.browser
def test_run_diff_shows_the_seeded_change(built, browser):
    b = browser
    _, latest = latest_files(built["site"])
    b.goto(built["site"] / latest["files"]["page"])
    bump = b.eval("() => [...document.querySelectorAll('tr.bump')].map(tr => tr.textContent.replace(/\\s+/g, ' '))")
    assert any("fake-lib" in t and "1.0" in t and "1.1" in t for t in bump), bump
    body = b.eval("() => document.body.textContent")
    assert "pass → ≠ mismatch" in body.replace("✓ ", "") or "→ ≠ mismatch" in body
    assert "v3/int16/zstd/sparse" in body
    # The landing page says it too.
    b.goto(built["site"] / "index.html")
    assert "fake-lib 1.0 → 1.1" in b.text("#changes").replace("\n", " ")
    # History plots pass counts per implementation with the bundled uPlot.
    b.goto(built["site"] / "history.html")
    assert b.eval("() => typeof uPlot === 'function'")
    _clean(b)
