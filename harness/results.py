"""Run artifacts: results.jsonl (appended as cells finish), junit.xml, summary.md.

A record is one cell: writer x case x store (and access mode) x reader, its
outcome, what was expected, the message and the diagnosis, and its judgement
(expected outcomes, unexpected, the finding that explains it, and the label
`faulty-dataset` when the writer wrote the dataset wrong).
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

OUTCOME_ORDER = ["pass", "mismatch", "error", "unsupported", "timeout", "crash", "flaky", "skipped"]
CELL_KEY = ("writer", "case", "store", "access", "reader")


def cell_key(rec: dict) -> tuple:
    return tuple(rec.get(k) for k in CELL_KEY)


class ResultsLog:
    """Appends one JSON line per record and flushes it, so an interrupted run keeps it."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        self._f = open(path, "a", encoding="utf-8")

    def append(self, rec: dict) -> None:
        line = json.dumps(rec, ensure_ascii=False, sort_keys=False)
        with self._lock:
            self._f.write(line + "\n")
            self._f.flush()

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()


def load_jsonl(path: Path) -> list[dict]:
    out = []
    if not path.exists():
        return out
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line cut by an interrupted run
    return out


def latest_records(records: list[dict]) -> list[dict]:
    """One record per cell: the last one written (a resumed run may repeat a cell)."""
    by_key = {}
    for r in records:
        by_key[cell_key(r)] = r
    return list(by_key.values())


def counts(records: list[dict], by: str | None = None) -> dict:
    if by is None:
        return dict(Counter(r["outcome"] for r in records))
    out: dict[str, Counter] = {}
    for r in records:
        out.setdefault(r[by], Counter())[r["outcome"]] += 1
    return {k: dict(v) for k, v in sorted(out.items())}


def expected_text(r: dict) -> str:
    exp = r.get("expected") or ["pass"]
    return " or ".join(exp) if isinstance(exp, list) else str(exp)


def write_junit(records: list[dict], path: Path) -> None:
    by_suite: dict[str, list[dict]] = {}
    for r in records:
        by_suite.setdefault(f"{r['store']}.{r['reader']}", []).append(r)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>']
    total = len(records)
    failures = sum(1 for r in records if r.get("unexpected"))
    parts.append(f'<testsuites name="zarr-conformance" tests="{total}" failures="{failures}">')
    for suite, recs in sorted(by_suite.items()):
        fails = sum(1 for r in recs if r.get("unexpected"))
        skips = sum(1 for r in recs if not r.get("unexpected") and r["outcome"] != "pass")
        parts.append(f'  <testsuite name={quoteattr(suite)} tests="{len(recs)}" failures="{fails}" skipped="{skips}">')
        for r in recs:
            access = f"[{r['access']}]" if r.get("access") not in (None, "signed") else ""
            name = quoteattr(f"{r['writer']}/{r['case']}{access}")
            secs = (r.get("duration_ms") or 0) / 1000
            parts.append(f'    <testcase classname={quoteattr(suite)} name={name} time="{secs:.3f}">')
            text = escape(" ".join(filter(None, [r.get("message"), r.get("diagnosis")])))
            why = r.get("finding") or {"faulty-dataset": "the dataset is faulty",
                                       "faulty-store": "the store is faulty"}.get(r.get("label"), "")
            if r.get("unexpected"):
                parts.append(f'      <failure message={quoteattr(r["outcome"] + " (expected " + expected_text(r) + ")")}>{text}</failure>')
            elif r["outcome"] != "pass":
                parts.append(f'      <skipped message={quoteattr(r["outcome"] + " (expected" + (": " + why if why else "") + ")")}>{text}</skipped>')
            parts.append("    </testcase>")
        parts.append("  </testsuite>")
    parts.append("</testsuites>")
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")


def _cell_name(r: dict) -> str:
    access = f"[{r['access']}]" if r.get("access") not in (None, "signed") else ""
    return f"{r['writer']}/{r['case']}/{r['store']}/{r['reader']}{access}"


def _md(text: str, n: int = 200) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:n]


def write_summary(records: list[dict], writes: list[dict], run: dict, findings, path: Path) -> None:
    """summary.md, for a CI step summary: unexpected outcomes first, then the findings that explain the rest."""
    from .findings import SEVERITIES, SEVERITY_TEXT

    c = counts(records)
    unexpected = [r for r in records if r.get("unexpected")]
    bad_writes = [w for w in writes if w.get("unexpected")]
    lines = ["# Zarr conformance summary", ""]
    lines.append(f"{len(records)} cells: " + ", ".join(f"{c.get(o, 0)} {o}" for o in OUTCOME_ORDER if c.get(o)))
    faulty = sum(1 for w in writes if w["status"] == "faulty")
    if faulty:
        lines.append(f"{faulty} datasets written wrong by their writer: their "
                     f"{sum(1 for r in records if r.get('label') == 'faulty-dataset')} cells are the writer's, not the readers'")
    store_faults = [r for r in records if r.get("label") == "faulty-store"]
    if store_faults:
        lines.append(f"{len(store_faults)} cells read from a store that does not serve their dataset as published "
                     f"(not counted against the readers): " + "; ".join(sorted({r["store_fault"] for r in store_faults})[:5]))
    repaired = sorted({r["store_repaired"] for r in records if r.get("store_repaired")})
    if repaired:
        lines.append(f"{len(repaired)} datasets published again because a store answered them wrongly, then read "
                     f"again: " + "; ".join(repaired[:5]))
    lines.append(f"**{len(unexpected)} unexpected cells, {len(bad_writes)} unexpected writes**"
                 if unexpected or bad_writes else "**all outcomes as expected**")
    if run.get("failed_to_start"):
        lines.append(f"**{len(run['failed_to_start'])} implementations or stores not available** (their cells are "
                     f"skipped, not judged): {', '.join(sorted(run['failed_to_start']))}")
    if unexpected:
        lines += ["", "## Unexpected", "", "| cell | outcome | expected | message |", "|---|---|---|---|"]
        order = {o: i for i, o in enumerate(["mismatch", "flaky", "error", "crash", "timeout", "unsupported", "pass"])}
        for r in sorted(unexpected, key=lambda r: order.get(r["outcome"], 9))[:200]:
            lines.append(f"| {_cell_name(r)} | {r['outcome']} | {expected_text(r)} | "
                         f"{_md(r.get('diagnosis') or r.get('message'))} |")
        if len(unexpected) > 200:
            lines.append(f"| ... {len(unexpected) - 200} more | | | |")
    if bad_writes:
        lines += ["", "## Unexpected writes", "", "| writer | case | outcome | message |", "|---|---|---|---|"]
        for w in bad_writes[:100]:
            lines.append(f"| {w['writer']} | {w['case']} | {w['status']} | {_md(w.get('message'))} |")
    explained: dict[str, int] = Counter(r["finding"] for r in records + writes if r.get("finding"))
    if explained and findings is not None:
        lines += ["", "## Findings that explain this run", "", "| severity | finding | cells | upstream |", "|---|---|---|---|"]
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        for fid, n in sorted(explained.items(), key=lambda kv: (rank.get(getattr(findings.by_id.get(kv[0]), "severity", ""), 9), -kv[1])):
            f = findings.by_id.get(fid)
            if f is None:
                continue
            link = f"[link]({f.upstream})" if f.upstream_link else "unreported"
            lines.append(f"| {SEVERITY_TEXT[f.severity]} | `{f.id}`: {_md(f.title, 120)} | {n} | {link} |")
    stale = (run.get("findings") or {}).get("stale") or {}
    if stale:
        lines += ["", "## Stale findings", ""] + [f"- `{k}`: {v}" for k, v in sorted(stale.items())]
    lines += ["", "| reader | " + " | ".join(OUTCOME_ORDER) + " |", "|---" * (len(OUTCOME_ORDER) + 1) + "|"]
    for reader, cc in counts(records, "reader").items():
        lines.append(f"| {reader} | " + " | ".join(str(cc.get(o, 0)) for o in OUTCOME_ORDER) + " |")
    na = run.get("not_available") or {}
    if na:
        lines += ["", "Not available in this run:", ""] + [f"- {k}: {v}" for k, v in sorted(na.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
