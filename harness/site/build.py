"""`zarr-conformance publish`: the published compatibility report, a static site built from runs.

    zarr-conformance publish RUN... --out site/ [--history SITE_OR_URL] [--findings DIR] [--repro]

Every RUN (a run directory, or a run of a published site: data/runs/<id>/) is judged against the
findings given (default findings/), as `zarr-conformance report` does. `--history` takes the runs of a
site published before (a directory or its URL) so that history and diffs go on across builds; their
cells are kept for the newest `--keep-cells` runs, the older ones keep their summary.

The site needs no server: every page works from file:// and from GitHub Pages. Pages load the cell
grid's data as scripts, per (format, store, access mode), only when they are shown; the landing page
carries only aggregates. Front-end libraries are pinned in harness/site/frontend/package-lock.json and
copied into the site from node_modules (`npm ci` there when missing); nothing loads from outside.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ..findings import SEVERITIES, SEVERITY_TEXT, Findings
from ..matrix import ROOT, ConfigError
from ..results import OUTCOME_ORDER
from . import data as sitedata
from . import views
from .diff import diff_headline, diff_runs
from .model import (Run, history_run, impl_summary, load_published_run, load_run_dir, name_of, run_summary, slug,
                    store_label, tracks)

HERE = Path(__file__).resolve().parent
FRONTEND = HERE / "frontend"
# What the site takes from the pinned front-end packages: (package file, where in the site).
VENDORED = [
    ("node_modules/uplot/dist/uPlot.iife.min.js", "assets/vendor/uPlot.iife.min.js"),
    ("node_modules/uplot/dist/uPlot.min.css", "assets/vendor/uPlot.min.css"),
    ("node_modules/uplot/LICENSE", "assets/vendor/uPlot.LICENSE.txt"),
]
SITE_MARKER = "data/index.json"


@dataclass
class PublishOptions:
    runs: list[Path]
    out: Path
    findings: Findings
    matrix: object | None = None
    findings_source: str = ""
    history: str | None = None
    keep_cells: int = 3
    repro: bool = False
    repro_max_bytes: int = 4 << 20
    repro_total_bytes: int = 24 << 20
    matrix_path: str | None = None
    log: object = print
    extra: dict = field(default_factory=dict)


# --- inputs ------------------------------------------------------------------------------------

def _is_url(s: str) -> bool:
    return urllib.parse.urlparse(s).scheme in ("http", "https", "file")


def _fetch(source: str, rel: str, dest: Path | None = None) -> bytes | None:
    """A file of a published site: a directory or a URL. None when it is not there."""
    if _is_url(source):
        url = source.rstrip("/") + "/" + urllib.parse.quote(rel)
        try:
            with urllib.request.urlopen(url, timeout=60) as resp:  # noqa: S310 (the user's own site)
                body = resp.read()
        except (OSError, ValueError):
            return None
    else:
        p = Path(source) / rel
        if not p.is_file():
            return None
        body = p.read_bytes()
    if dest is not None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(body)
    return body


def load_history(source: str, findings: Findings, keep_cells: int, tmp: Path, log=print) -> list[Run]:
    """The runs of a site published before: with their cells for the newest `keep_cells`, as summaries
    for the others."""
    body = _fetch(source, "data/runs.json")
    if body is None:
        log(f"history: no data/runs.json at {source}: starting a new history")
        return []
    index = json.loads(body)
    if not str(index.get("schema", "")).startswith("zarr-conformance/runs@"):
        raise ConfigError(f"{source}: data/runs.json is not a zarr-conformance runs index")
    entries = sorted(index.get("runs") or [], key=lambda e: e.get("started") or "")
    out = []
    for n, entry in enumerate(reversed(entries)):
        run = None
        files = entry.get("files") or {}
        if n < keep_cells and files.get("cells"):
            d = tmp / "history" / slug(entry["id"])
            ok = all(_fetch(source, "data/" + files[k], d / Path(files[k]).name) is not None
                     for k in ("run", "cells") if files.get(k))
            if ok and files.get("writes"):
                _fetch(source, "data/" + files["writes"], d / "writes.json")
            if ok:
                try:
                    run = load_published_run(d, findings)
                    run.id = entry["id"]
                except (OSError, ValueError, KeyError) as exc:
                    log(f"history: run {entry['id']}: its cells cannot be read ({exc}); keeping its summary")
        if run is None:
            run = history_run(entry)
            if files.get("diff"):
                body = _fetch(source, "data/" + files["diff"])
                if body:
                    try:
                        run.diff = json.loads(body)
                    except ValueError:
                        pass
        out.append(run)
    log(f"history: {len(out)} runs from {source} ({sum(r.has_cells for r in out)} with their cells)")
    return list(reversed(out))


def previous_of(runs: list[Run]) -> dict[str, Run | None]:
    """Each run's previous one: the latest earlier run of the same profile, else the latest earlier run."""
    out: dict[str, Run | None] = {}
    for i, r in enumerate(runs):
        earlier = runs[:i]
        same = [p for p in earlier if p.profile == r.profile]
        out[r.id] = (same or earlier or [None])[-1]
    return out


# --- the front-end ------------------------------------------------------------------------------

def frontend_files(log=print) -> dict[str, Path]:
    """The pinned front-end files (npm ci in harness/site/frontend when they are missing)."""
    missing = [src for src, _ in VENDORED if not (FRONTEND / src).exists()]
    if missing and shutil.which("npm"):
        log("publish: installing the site's front-end libraries (npm ci in harness/site/frontend)")
        proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=FRONTEND, capture_output=True, text=True,
                              timeout=600)
        if proc.returncode != 0:
            raise ConfigError("npm ci in harness/site/frontend failed: " + (proc.stderr or proc.stdout)[-800:])
    missing = [src for src, _ in VENDORED if not (FRONTEND / src).exists()]
    if missing:
        raise ConfigError("the site's front-end libraries are missing (" + ", ".join(missing) + "): install Node.js "
                          "and npm, or run `npm ci` in harness/site/frontend")
    return {dst: FRONTEND / src for src, dst in VENDORED}


# --- reproducers ----------------------------------------------------------------------------------

def build_repros(run: Run, findings: Findings, explained: list[dict], out: Path, opts: PublishOptions) -> dict:
    """A reproducer bundle (.tar.gz) per finding that explains cells of the run, where one can be made
    from the run directory and the dataset cache; each within a size limit. {finding id: info}."""
    from ..repro import build_bundle, pick

    result: dict[str, dict] = {}
    if run.run_dir is None:
        for f in explained:
            result[f["id"]] = {"reason": "the run was loaded from published data: no datasets to bundle"}
        return result
    total = 0
    with tempfile.TemporaryDirectory(prefix="zc-repro-") as tmp:
        for f in explained:
            fid = f["id"]
            try:
                rec = pick(run.records, fid, findings)
                bundle = Path(tmp) / slug(fid)
                build_bundle(rec, run.writes, run.info, findings, bundle, opts.matrix_path)
            except ConfigError as exc:
                result[fid] = {"reason": str(exc)}
                continue
            except (OSError, ValueError, KeyError) as exc:
                result[fid] = {"reason": f"the bundle could not be made: {exc}"}
                continue
            (bundle / "PROVENANCE.json").write_text(json.dumps({
                "finding": fid, "cell": views.cell_name(rec), "run": run.id, "started": run.started,
                "harness": (run.info.get("harness") or {}).get("version"), "profile": run.profile,
                "matrix": (run.info.get("matrix") or {}).get("sha256_16")}, indent=1))
            buf = io.BytesIO()
            with tarfile.open(fileobj=buf, mode="w:gz") as tar:
                tar.add(bundle, arcname=f"repro-{slug(fid)}")
            size = buf.tell()
            if size > opts.repro_max_bytes:
                result[fid] = {"reason": f"the bundle is {size >> 10} KiB, over the limit of {opts.repro_max_bytes >> 10} KiB",
                               "cell": views.cell_name(rec)}
                continue
            if total + size > opts.repro_total_bytes:
                result[fid] = {"reason": "the site's budget for reproducer bundles is used up", "cell": views.cell_name(rec)}
                continue
            total += size
            rel = f"repro/{slug(fid)}.tar.gz"
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(buf.getvalue())
            result[fid] = {"file": rel, "bytes": size, "cell": views.cell_name(rec)}
    return result


def repro_command(f: dict, cell: dict | None) -> str:
    """The commands that make a finding's reproducer from nothing: run its simplest cell, then `repro`."""
    if not cell:
        return f"zarr-conformance repro {f['id']} --run RUN_DIR --execute"
    stores = cell["store"].split("+")[0]
    parts = ["zarr-conformance run", f"--cases '{cell['case']}'", f"--writers {cell['writer']}",
             f"--readers {cell['reader']}", f"--stores {stores}", "--out repro-run"]
    if cell["store"].endswith("+native-write"):
        parts.append("--write-mode native")
    return " ".join(parts) + f" && zarr-conformance repro {f['id']} --run repro-run --execute"


# --- the build ----------------------------------------------------------------------------------------

def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["tojson_compact"] = lambda v: sitedata.dumps(v).replace("</", "<\\/")
    env.filters["slug"] = slug
    env.filters["date"] = lambda s: (s or "")[:16].replace("T", " ")
    env.filters["kib"] = lambda n: f"{(n or 0) / 1024:,.0f} KiB" if (n or 0) < 1 << 20 else f"{(n or 0) / (1 << 20):,.1f} MiB"
    env.globals.update(outcomes=OUTCOME_ORDER, marks=views.MARKS, severity_text=SEVERITY_TEXT, severities=SEVERITIES,
                       store_label=store_label, name_of=name_of, grid_link=views.grid_link, format_text=views.FORMAT_TEXT)
    return env


def publish(opts: PublishOptions) -> dict:
    log = opts.log
    if not opts.runs:
        raise ConfigError("publish needs at least one run (a run directory)")
    out = Path(opts.out)
    if out.exists() and any(out.iterdir()) and not (out / SITE_MARKER).exists():
        raise ConfigError(f"{out}: exists and is not a site made by publish; give an empty or new directory")
    with tempfile.TemporaryDirectory(prefix="zc-publish-") as tmp:
        tmp = Path(tmp)
        runs: dict[str, Run] = {}
        if opts.history:
            for r in load_history(opts.history, opts.findings, max(0, opts.keep_cells - len(opts.runs)), tmp, log):
                runs[r.id] = r
        given = []
        for p in opts.runs:
            r = load_run_dir(Path(p), opts.findings)
            if r.id in {g.id for g in given}:
                raise ConfigError(f"{p}: run {r.id} is given twice")
            runs[r.id] = r  # a run given on the command line replaces its copy in the history
            given.append(r)
        ordered = sorted(runs.values(), key=lambda r: (r.started or "", r.id))
        with_cells = [r for r in ordered if r.has_cells]
        latest = with_cells[-1]
        keep = {r.id for r in with_cells[-max(1, opts.keep_cells):]} | {g.id for g in given}
        vendored = frontend_files(log)
        stage = out.with_name(out.name + ".publish-tmp")
        if stage.exists():
            shutil.rmtree(stage)
        stage.mkdir(parents=True)
        try:
            stats = _build(stage, ordered, latest, keep, opts, vendored)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if out.exists():
            shutil.rmtree(out)
        stage.rename(out)
    stats["out"] = str(out)
    return stats


def _build(site: Path, runs: list[Run], latest: Run, keep: set[str], opts: PublishOptions, vendored: dict) -> dict:
    log = opts.log
    findings = opts.findings
    env = _env()
    built_at = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    prev = previous_of(runs)
    summaries = {r.id: run_summary(r) for r in runs}
    diffs: dict[str, dict | None] = {}
    for r in runs:
        p = prev[r.id]
        if r.has_cells and p is not None and p.has_cells:
            diffs[r.id] = diff_runs(p, r)
        else:
            diffs[r.id] = r.diff if not r.has_cells else None
    trk = tracks(runs)
    hist = views.history(runs, trk, summaries)
    explained = views.explained_findings(latest, findings)
    harness_version = (latest.info.get("harness") or {}).get("version", "")
    common = {"built_at": built_at, "latest": latest, "harness_version": harness_version,
              "findings_source": opts.findings_source, "findings_count": len(findings)}

    # Assets.
    for name in ("site.css", "site.js", "grid.js", "history.js"):
        dst = site / "assets" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(HERE / "assets" / name, dst)
    for dst, src in vendored.items():
        (site / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, site / dst)
    (site / ".nojekyll").write_text("")

    # Data: per run, the cells of the runs kept; the grid of the latest.
    files_of: dict[str, dict] = {}
    for r in runs:
        files: dict[str, str] = {"page": f"runs/{slug(r.id)}.html"}
        base = f"runs/{slug(r.id)}"
        if r.has_cells and r.id in keep:
            sitedata.write_json(site / "data" / base / "run.json", {**r.info, "id": r.id})
            sitedata.write_json(site / "data" / base / "cells.json",
                                sitedata.encode_table(r.records, sitedata.CELL_COLUMNS, sitedata.SCHEMAS["cells"], r.id))
            sitedata.write_json(site / "data" / base / "writes.json",
                                sitedata.encode_table(r.writes, sitedata.WRITE_COLUMNS, sitedata.SCHEMAS["writes"], r.id))
            sitedata.write_parquet(site / "data" / base / "cells.parquet", r.records, r.id)
            files.update(run=f"{base}/run.json", cells=f"{base}/cells.json", writes=f"{base}/writes.json",
                         parquet=f"{base}/cells.parquet")
        if diffs.get(r.id):
            sitedata.write_json(site / "data" / base / "diff.json", diffs[r.id])
            files["diff"] = f"{base}/diff.json"
        files_of[r.id] = files
    chunks, scripts = sitedata.grid_chunks(latest, findings)
    for name, text in scripts.items():
        p = site / "data" / "grid" / slug(latest.id) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
    for c in chunks:
        c["src"] = f"data/grid/{slug(latest.id)}/{c['file']}"

    # Reproducers.
    repros = build_repros(latest, findings, explained, site, opts) if opts.repro else {}
    first_cell = {}
    for r in latest.records:
        if r.get("finding") and r["finding"] not in first_cell:
            first_cell[r["finding"]] = None
    if first_cell:
        from ..repro import pick

        for fid in first_cell:
            try:
                first_cell[fid] = pick(latest.records, fid, findings)
            except ConfigError:
                first_cell[fid] = None

    # Findings data and page.
    cells_of: dict[str, list[dict]] = {}
    for r in latest.records + latest.writes:
        if r.get("finding"):
            cells_of.setdefault(r["finding"], []).append(r)
    from ..judge import stale as stale_findings

    stale = stale_findings(findings, latest.records, latest.writes)
    all_findings = []
    for f in sorted(findings.all, key=lambda f: (views.SEVERITY_RANK[f.severity], f.implementation, f.id)):
        b = views.finding_brief(f)
        mine = cells_of.get(f.id, [])
        reads = [r for r in mine if "reader" in r]
        writes = [w for w in mine if "reader" not in w]
        from collections import Counter

        b.update(cells=len(mine), reads=len(reads), writes=len(writes),
                 outcome_counts=dict(Counter(r.get("outcome") or r.get("status") for r in mine)),
                 listed=[{"name": views.cell_name(r), "outcome": r["outcome"], "format": r["format"],
                          "message": (r.get("diagnosis") or r.get("message") or "")[:200],
                          "link": views.grid_link(format=r["format"], store=r["store"], access=r.get("access") or "signed",
                                                  writer=r["writer"], reader=r["reader"], case=r["case"])}
                         for r in sorted(reads, key=lambda r: (r["reader"], r["writer"], r["case"], r["store"]))[:60]],
                 listed_writes=[{"writer": w["writer"], "case": w["case"], "status": w["status"],
                                 "message": (w.get("message") or "")[:200]} for w in writes[:30]],
                 stale=stale.get(f.id, ""), repro=repros.get(f.id) or {},
                 command=repro_command(b, _cell_fields(first_cell.get(f.id))),
                 source=str(Path(findings.sources.get(f.id, "")).name) if findings.sources.get(f.id) else "")
        all_findings.append(b)
    sitedata.write_json(site / "data" / "findings.json", {
        "schema": sitedata.SCHEMAS["findings"], "run": latest.id, "source": opts.findings_source,
        "findings": [{k: v for k, v in f.items() if k not in ("listed", "listed_writes", "rank")} |
                     {"cells_listed": [c["name"] for c in f["listed"]]} for f in all_findings]})

    # The runs index (history) and the site index.
    heads = {rid: (diff_headline(d) if d else None) for rid, d in diffs.items()}
    runs_index = {"schema": sitedata.SCHEMAS["runs"], "built_at": built_at, "latest": latest.id, "runs": []}
    for r in runs:
        info = {k: v for k, v in r.info.items() if k != "cases"}  # the case list is in cells.json
        info["cases_count"] = len(r.cases) if r.has_cells else (r.info.get("cases_count") or 0)
        runs_index["runs"].append({
            "id": r.id, "started": r.started, "finished": r.info.get("finished", ""), "profile": r.profile,
            "harness": (r.info.get("harness") or {}).get("version", ""), "has_cells": r.id in keep and r.has_cells,
            "previous": prev[r.id].id if prev[r.id] else None, "diff": heads.get(r.id),
            "summary": summaries[r.id], "info": info, "files": files_of[r.id]})
    sitedata.write_json(site / "data" / "runs.json", runs_index)

    pages: dict[str, str] = {}

    def render(path: str, template: str, **ctx):
        depth = path.count("/")
        root = "../" * depth
        html = env.get_template(template).render(root=root, page=path, **common, **ctx)
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_text(html, encoding="utf-8")
        pages[path] = html

    # Landing page.
    heat = views.heatmaps(latest)
    gravest = [f for f in explained if f["severity"] == "wrong-values"]
    others = [f for f in explained if f["severity"] != "wrong-values"]
    names = sorted({name_of(i) for i in latest.impl_ids})
    d_latest = diffs.get(latest.id)
    render("index.html", "index.html.j2", run=views.provenance(latest, opts.matrix), heatmaps=heat, gravest=gravest,
           others=others[:12], others_total=len(others), unexplained=views.unexplained(latest),
           diff=heads.get(latest.id), diff_full=d_latest, names=names, run_page=files_of[latest.id]["page"],
           faulty=[w for w in latest.writes if w["status"] == "faulty"])
    render("safe.html", "safe.html.j2", formats=views.safe_to_write(latest, findings), findings_map=_fmap(findings))
    render("findings.html", "findings.html.j2", findings=all_findings, stale=stale, run=latest)
    impls = []
    for name in names:
        v = views.implementation(name, latest, findings, opts.matrix, hist["rows"], d_latest, explained)
        impls.append(v)
        render(f"impl/{slug(name)}.html", "impl.html.j2", impl=v, history=hist, findings_map=_fmap(findings),
               run_page=files_of[latest.id]["page"])
    render("implementations.html", "implementations.html.j2", impls=impls,
           summary=impl_summary(latest), run=views.provenance(latest, opts.matrix))
    impl_meta = {i: {"version": latest.reported_version(i), "language": latest.language(i)} for i in latest.impl_ids}
    render("grid.html", "grid.html.j2", grid_meta={
        "run": latest.id, "chunks": chunks, "implementations": impl_meta, "outcomes": OUTCOME_ORDER,
        "marks": views.MARKS, "codes": sitedata.CODES,
        "findings": {f.id: [f.title, f.severity, f.upstream_link, f.implementation] for f in findings.all},
        "features": {c: list(views.case_features(c)) for c in latest.cases}})
    render("history.html", "history.html.j2", history=hist, heads=heads, files=files_of, runs=list(reversed(runs)))
    for r in runs:
        d = diffs.get(r.id)
        render(f"runs/{slug(r.id)}.html", "run.html.j2", r=r, summary=summaries[r.id], diff=d, head=heads.get(r.id),
               prov=views.provenance(r, opts.matrix) if r.has_cells else _history_prov(r),
               files=files_of[r.id], previous=prev[r.id], is_latest=r.id == latest.id,
               prev_page=files_of[prev[r.id].id]["page"] if prev[r.id] else None)
    data_files = sorted(str(p.relative_to(site)) for p in (site / "data").rglob("*") if p.is_file())
    sizes = {p: (site / p).stat().st_size for p in data_files}
    render("data.html", "data.html.j2", files=files_of, runs=list(reversed(runs)), sizes=sizes,
           schemas=sitedata.SCHEMAS, doc=_site_data_doc(), chunks=chunks)
    index = {"schema": sitedata.SCHEMAS["index"], "built_at": built_at, "harness": harness_version,
             "latest": latest.id, "schemas": sitedata.SCHEMAS, "findings": "findings.json", "runs": "runs.json",
             "grid": {"run": latest.id, "chunks": chunks},
             "pages": sorted(pages), "reproducers": {k: v["file"] for k, v in repros.items() if v.get("file")}}
    sitedata.write_json(site / SITE_MARKER, index)
    total = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
    stats = {"runs": len(runs), "latest": latest.id, "pages": len(pages), "bytes": total,
             "landing_bytes": len(pages["index.html"].encode()), "chunks": len(chunks),
             "largest_chunk": max((c["bytes"] for c in chunks), default=0),
             "repro": sum(1 for v in repros.values() if v.get("file"))}
    log(f"publish: {len(pages)} pages, {len(runs)} runs (latest {latest.id}), {total / (1 << 20):.1f} MiB")
    return stats


def _cell_fields(rec: dict | None) -> dict | None:
    if not rec:
        return None
    return {k: rec.get(k) for k in ("writer", "case", "store", "access", "reader")}


def _fmap(findings: Findings) -> dict:
    return {f.id: {"title": f.title, "severity": f.severity, "upstream": f.upstream_link, "implementation": f.implementation}
            for f in findings.all}


def _history_prov(r: Run) -> dict:
    info = r.info
    return {"id": r.id, "started": info.get("started", ""), "finished": info.get("finished", ""),
            "profile": info.get("profile", ""), "harness": (info.get("harness") or {}).get("version", ""),
            "command": views.display_command(info.get("command")), "matrix": (info.get("matrix") or {}).get("sha256_16", ""),
            "runner": info.get("runner", ""), "jobs": info.get("jobs", ""), "write_mode": info.get("write_mode", ""),
            "platform": info.get("platform") or {}, "timings": info.get("timings_s") or {},
            "implementations": [{"id": i, "name": name_of(i), "version": i.partition("@")[2],
                                 "reported": (info.get("implementations") or {}).get(i, {}).get("version") or s.get("version"),
                                 "language": (info.get("implementations") or {}).get(i, {}).get("language", ""),
                                 "components": (info.get("implementations") or {}).get(i, {}).get("components") or {},
                                 "verbs": [], "homepage": ""}
                                for i, s in sorted((r.summary.get("implementations") or {}).items())],
            "not_available": info.get("not_available") or {}, "stores": [], "cells": r.summary.get("cells", 0),
            "counts": r.summary.get("counts") or {}, "cases": info.get("cases_count") or r.summary.get("cases", 0),
            "source": "history"}


def _site_data_doc() -> str:
    """docs/site-data.md as HTML (the schema of the data files), when the checkout has it."""
    path = ROOT / "docs" / "site-data.md"
    if not path.exists():
        return ""
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        return ""
    return MarkdownIt("commonmark").enable("table").render(path.read_text(encoding="utf-8"))
