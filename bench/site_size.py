"""The published site's weight and speed: page and data sizes, and the landing page's first view in
headless Chromium (docs/site.md has the figures).

    .venv/bin/python bench/site_size.py SITE                       # a site built by `publish`
    .venv/bin/python bench/site_size.py --run RUN [--stores-like]  # build one from a run first (in a temp dir)

--stores-like makes a run of the stores profile's size from a smaller real run: its cells read from
s3-moto are copied under the other stores (http, s3-minio) and, for the store-sensitive cases, under
every S3 access mode, as the stores profile reads them. The outcomes are the real run's, replicated:
the figures are about size and speed, not about those stores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

LANDING_LIMIT = 1 << 20  # bytes (issue 9)
SITE_LIMIT = 50 << 20
FIRST_VIEW_LIMIT_MS = 2000


def stores_like(run_dir: Path, out: Path) -> int:
    """A copy of a run whose cells are replicated under the stores profile's stores and access modes."""
    from harness.cases import catalogue, store_sensitive
    from harness.results import latest_records, load_jsonl

    cat = catalogue()
    records = latest_records(load_jsonl(run_dir / "results.jsonl"))
    out.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        def put(r, **kw):
            nonlocal n
            f.write(json.dumps({**r, **kw}, ensure_ascii=False) + "\n")
            n += 1

        for r in records:
            put(r)
            if r["store"] != "s3-moto" or (r.get("access") or "signed") != "signed":
                continue
            put(r, store="http")
            put(r, store="s3-minio")
            case = cat.get(r["case"])
            if case is not None and store_sensitive(case):
                for store in ("s3-moto", "s3-minio"):
                    for access in ("anonymous", "anonymous-nolist", "forbidden-chunk"):
                        put(r, store=store, access=access)
    (out / "writes.jsonl").write_text((run_dir / "writes.jsonl").read_text(encoding="utf-8"), encoding="utf-8")
    info = json.loads((run_dir / "run.json").read_text())
    info["profile"] = "stores-like"
    (out / "run.json").write_text(json.dumps(info))
    return n


def build(run_dir: Path, out: Path) -> None:
    from harness.findings import Findings, default_findings
    from harness.matrix import load_matrix
    from harness.site.build import PublishOptions, publish

    m = load_matrix(None)
    findings = Findings.load(default_findings(), set(m.implementations))
    publish(PublishOptions(runs=[run_dir], out=out, findings=findings, matrix=m, findings_source="findings/",
                           log=lambda *a: None))


def sizes(site: Path) -> dict:
    files = [p for p in site.rglob("*") if p.is_file()]
    by_kind = Counter()
    for p in files:
        rel = p.relative_to(site).as_posix()
        kind = ("grid chunks" if rel.startswith("data/grid/") else "run data" if rel.startswith("data/runs/")
                else "other data" if rel.startswith("data/") else "reproducers" if rel.startswith("repro/")
                else "assets" if rel.startswith("assets/") else "pages")
        by_kind[kind] += p.stat().st_size
    index = json.loads((site / "data" / "index.json").read_text())
    chunks = index["grid"]["chunks"]
    # What the landing page loads: its HTML, the stylesheet and the shared script (no data file).
    landing = sum((site / p).stat().st_size for p in ("index.html", "assets/site.css", "assets/site.js"))
    pages = {p.relative_to(site).as_posix(): p.stat().st_size for p in files if p.suffix == ".html"}
    return {"total": sum(by_kind.values()), "files": len(files), "by_kind": dict(by_kind), "landing": landing,
            "landing_html": (site / "index.html").stat().st_size, "largest_page": max(pages.items(), key=lambda kv: kv[1]),
            "chunks": len(chunks), "largest_chunk": max((c["bytes"] for c in chunks), default=0),
            "cells": sum(c["cells"] for c in chunks)}


def first_view(site: Path, loads: int = 5) -> dict:
    from driver import Browser

    out = {}
    with Browser() as b:
        for page, frag in (("index.html", ""), ("grid.html", ""), ("safe.html", ""), ("findings.html", "")):
            fcp, load = [], []
            for _ in range(loads):
                r = b.goto(site / page, frag)
                if page == "grid.html":  # the grid's first view is its first rows, loaded from a chunk
                    b.wait("table.grid tbody tr, #g-status")
                fcp.append(r["fcp_ms"] or 0)
                load.append(r["load_ms"])
            out[page] = {"fcp_ms": statistics.median(fcp), "load_ms": statistics.median(load)}
        b.goto(site / "grid.html", "format=zarr3&store=all")
        t = b.eval("""() => new Promise(res => {
            const check = () => document.querySelector('table.grid tbody tr') ? res(performance.now()) : setTimeout(check, 20);
            check(); })""")
        out["grid.html, every store of Zarr v3 (since navigation)"] = {"rows_ms": t}
        if b.errors:
            out["errors"] = b.errors
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("site", nargs="?", help="a site built by publish")
    ap.add_argument("--run", help="build the site from this run directory first")
    ap.add_argument("--stores-like", action="store_true", help="replicate the run's cells to the stores profile's size")
    ap.add_argument("--no-browser", action="store_true", help="sizes only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not args.site and not args.run:
        ap.error("give a SITE or --run RUN")
    with tempfile.TemporaryDirectory(prefix="zc-site-bench-") as tmp:
        tmp = Path(tmp)
        site, note = Path(args.site) if args.site else tmp / "site", ""
        if args.run:
            run = Path(args.run)
            if args.stores_like:
                n = stores_like(run, tmp / "run")
                note = f"synthesised: the cells of {run.name} replicated under the stores profile's stores and access modes ({n:,} cells)"
                run = tmp / "run"
            build(run, site)
        s = sizes(site)
        fv = {} if args.no_browser else first_view(site)
        if args.json:
            print(json.dumps({"note": note, "sizes": s, "first_view": fv}, indent=1))
            return 0
        mib = lambda n: f"{n / (1 << 20):.1f} MiB"  # noqa: E731
        kib = lambda n: f"{n / 1024:.0f} KiB"  # noqa: E731
        print("| figure | value | limit |\n|---|---|---|")
        if note:
            print(f"| run | {note} | |")
        print(f"| cells in the grid | {s['cells']:,} in {s['chunks']} chunks (largest {kib(s['largest_chunk'])}) | |")
        print(f"| landing page (HTML, CSS, script) | {kib(s['landing'])} | {'ok' if s['landing'] < LANDING_LIMIT else 'OVER'} 1 MiB |")
        print(f"| largest page | {s['largest_page'][0]}: {kib(s['largest_page'][1])} | |")
        print(f"| whole site | {mib(s['total'])} in {s['files']} files | {'ok' if s['total'] < SITE_LIMIT else 'OVER'} 50 MiB |")
        for k, v in sorted(s["by_kind"].items()):
            print(f"| … {k} | {mib(v)} | |")
        for page, t in fv.items():
            if page == "errors":
                print(f"| script errors | {t} | none |")
            elif "fcp_ms" in t:
                ok = "ok" if t["fcp_ms"] < FIRST_VIEW_LIMIT_MS else "OVER"
                print(f"| {page}: first contentful paint / load (median of 5) | {t['fcp_ms']:.0f} ms / {t['load_ms']:.0f} ms | "
                      f"{ok + ' 2 s' if page == 'index.html' else ''} |")
            else:
                print(f"| {page}: first rows shown | {t['rows_ms']:.0f} ms | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
