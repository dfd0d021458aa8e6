"""Report: one self-contained report.html from a run directory (no network needed).

A matrix per store (and access mode) and format: readers as columns, writer
and case as rows, a colour per outcome, the message on hover and in a detail
panel on click; counts per reader and per writer; what writers could not write;
implementations that were not available.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from .results import OUTCOME_ORDER, counts

# The fields of each cell the page's detail panel shows, embedded as rows of values.
RECORD_KEYS = ["writer", "writer_version", "reader", "reader_version", "case", "format", "store", "access",
               "outcome", "attempts", "expected", "unexpected", "message", "diagnosis", "finding", "reason", "link",
               "label", "dataset_fault", "store_fault", "duration_ms"]
ABBREV = {"pass": "✓", "mismatch": "≠", "error": "E", "unsupported": "U", "timeout": "T", "crash": "C", "flaky": "~",
          "skipped": "–"}


def build_view(records: list[dict], writes: list[dict], run: dict) -> dict:
    groups: dict[tuple, dict] = {}
    for i, r in enumerate(records):
        key = (r["store"], r.get("access") or "", r.get("format") or "")
        g = groups.setdefault(key, {"rows": {}, "readers": set(), "cells": {}})
        row = (r["case"], r["writer"])
        g["rows"][row] = True
        g["readers"].add(r["reader"])
        g["cells"][(row, r["reader"])] = i
    views = []
    for (store, access, fmt), g in sorted(groups.items()):
        readers = sorted(g["readers"])
        rows = []
        for case, writer in sorted(g["rows"]):
            idx = [g["cells"].get(((case, writer), rd)) for rd in readers]
            judged = [records[i]["outcome"] for i in idx if i is not None and records[i]["outcome"] in ("pass", "mismatch", "error")]
            # When no reader at all gets this dataset right, look at the writer first.
            suspect = len(judged) >= 3 and "pass" not in judged
            # A dataset its writer did not write (or no reader could read here): hidden unless asked for.
            absent = all(i is None or records[i]["outcome"] == "skipped" for i in idx)
            rows.append({"case": case, "writer": writer, "cells": idx, "suspect": suspect, "absent": absent})
        c = Counter(records[i]["outcome"] for i in g["cells"].values())
        views.append({"id": f"{store}|{access}|{fmt}", "store": store, "access": access, "format": fmt,
                      "readers": readers, "rows": rows, "counts": dict(c)})
    write_support: dict[str, Counter] = defaultdict(Counter)
    write_problems = []
    for w in writes:
        write_support[w["writer"]][w["status"]] += 1
        if w["status"] != "ok":  # refused, failed, or written wrong (faulty)
            write_problems.append(w)
    return {
        "views": views,
        "stores": sorted({v["store"] for v in views}),
        "access": sorted({v["access"] for v in views}, key=lambda a: (a != "signed", a)),
        "formats": sorted({v["format"] for v in views}),
        "by_reader": counts(records, "reader"),
        "by_writer": counts(records, "writer"),
        "write_support": {k: dict(v) for k, v in sorted(write_support.items())},
        "write_problems": sorted(write_problems, key=lambda w: (w["writer"], w["case"])),
        "unexpected": [r for r in records if r.get("unexpected")],
    }


def findings_view(records: list[dict], writes: list[dict], findings) -> list[dict]:
    """The findings that explain this run's cells and writes, gravest first."""
    from .findings import SEVERITIES, SEVERITY_TEXT

    n = Counter(r["finding"] for r in records + writes if r.get("finding"))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    out = []
    for fid, count in n.items():
        f = findings.by_id.get(fid)
        if f is not None:
            out.append({"id": f.id, "title": f.title, "implementation": f.implementation, "role": f.role,
                        "severity": SEVERITY_TEXT[f.severity], "rank": rank[f.severity], "cells": count,
                        "upstream": f.upstream_link, "error": f.error})
    return sorted(out, key=lambda f: (f["rank"], -f["cells"], f["id"]))


def write_report(run_dir: str | Path, records: list[dict], writes: list[dict], run: dict, findings,
                 out: str | Path | None = None) -> Path:
    """report.html from judged records (harness/artifacts.py judges them)."""
    run_dir = Path(run_dir)
    for r in records:  # what the detail panel says about a known outcome
        f = findings.by_id.get(r.get("finding") or "")
        r["reason"], r["link"] = (f.title, f.upstream_link) if f else ("", "")
    env = Environment(loader=PackageLoader("harness", "templates"), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(
        run=run, records=records, view=build_view(records, writes, run), outcomes=OUTCOME_ORDER, abbrev=ABBREV,
        findings=findings_view(records, writes, findings),
        records_json=json.dumps({"keys": RECORD_KEYS, "rows": [[r.get(k) for k in RECORD_KEYS] for r in records]},
                                ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/"),
    )
    path = Path(out) if out else run_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
