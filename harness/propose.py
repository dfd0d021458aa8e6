"""`expectations update`: propose findings for a run's unexpected outcomes; a person decides.

Unexpected cells are clustered by (reader, outcome, normalized message); each
cluster becomes one proposed finding whose selectors are the smallest that
cover its cells and no other cell of that reader in the run (passing cells
included: a finding must not claim them). A dataset that every reader fails
while they read the same case from other writers is proposed as the
writer's finding. Proposals are shown and written only when accepted, or
into a file to review; an existing finding is never widened.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from .cases import catalogue
from .findings import CellFacts, Findings, Selector

OUTCOME_SEVERITY = {"mismatch": "wrong-values", "flaky": "error", "error": "error", "crash": "crash",
                    "timeout": "crash", "unsupported": "unsupported", "faulty": "metadata"}

_NORMALIZE = [
    (re.compile(r"(?:file://)?/[^\s\"',;)]+"), "<path>"),
    (re.compile(r"https?://\S+"), "<url>"),
    (re.compile(r"\b[0-9a-f]{8,}\b"), "<hex>"),
    (re.compile(r"\d+(\.\d+)?"), "N"),
    (re.compile(r"\s+"), " "),
]


def normalize(message: str) -> str:
    """The part of an error text that names the defect, not this cell (paths, numbers, keys)."""
    text = message or ""
    for rx, repl in _NORMALIZE:
        text = rx.sub(repl, text)
    return text.strip()[:160]


@dataclass
class Proposal:
    implementation: str
    role: str
    outcome: str
    message: str
    cells: list[dict] = field(default_factory=list)
    selectors: list[dict] = field(default_factory=list)
    versions: str = "*"
    explains: str = "reads"

    def finding(self, taken: set[str]) -> dict:
        base = re.sub(r"[^a-z0-9]+", "-", f"{self.implementation}-{self.outcome}-{self.message or 'no message'}".lower())
        base = base.strip("-")[:60].rstrip("-")
        fid, n = base, 2
        while fid in taken:
            fid, n = f"{base}-{n}", n + 1
        taken.add(fid)
        sample = next((c.get("message") for c in self.cells if c.get("message")), "")
        severity = OUTCOME_SEVERITY.get(self.outcome, "error")
        if self.outcome == "mismatch" and all("only the metadata" in (c.get("diagnosis") or "") for c in self.cells):
            severity = "metadata"
        out = {"id": fid, "title": f"TODO: {self.outcome}: {self.message or '(no message)'}"[:160], "role": self.role}
        if self.role == "writer" and self.explains == "reads":
            out["applies_to"] = "reads"
        out.update({"versions": self.versions, "severity": severity, "outcomes": [self.outcome],
                    "error": sample[:400], "upstream": "unreported", "cells": self.selectors})
        return out


def _facts(rec: dict) -> CellFacts:
    return CellFacts.of(rec)


def _outcome(rec: dict) -> str:
    return rec.get("outcome") or rec.get("status")


def _covers(selectors: list[Selector], rec: dict) -> bool:
    f = _facts(rec)
    return any(s.matches(f) for s in selectors)


def _common(cluster: list[dict], key: str) -> list[str]:
    vals = set()
    for r in cluster:
        f = _facts(r)
        if key == "feature":
            continue
        vals.add(str(getattr(f, key) or ""))
    return sorted(vals)


def _shared_features(cluster: list[dict]) -> list[str]:
    sets = [set(_facts(r).features) for r in cluster]
    return sorted(set.intersection(*sets)) if sets else []


def smallest_selectors(cluster: list[dict], universe: list[dict]) -> list[dict]:
    """Selectors (as dicts) that match every record of cluster and no other record of universe."""
    inside = {id(r) for r in cluster}
    others = [r for r in universe if id(r) not in inside]

    def clean(sel: dict) -> bool:
        s = Selector(**sel)
        return not any(s.matches(_facts(o)) for o in others)

    candidates: list[dict] = []
    for key in ("format", "dtype", "writer", "store", "access"):
        vals = _common(cluster, key)
        if vals and len(vals) <= 3:
            candidates.append({key: vals[0] if len(vals) == 1 else vals})
    for feat in _shared_features(cluster):
        if not feat.startswith("dtype:"):
            candidates.append({"feature": feat})
    # One field, then two, then three together.
    for n in (1, 2, 3):
        for combo in itertools.combinations(candidates, n):
            keys = [k for c in combo for k in c]
            if len(keys) != len(set(keys)):
                continue
            sel = {k: v for c in combo for k, v in c.items()}
            if clean(sel):
                return [sel]
    # The case ids, narrowed by writer, store and access where the same case answers otherwise.
    cases = _common(cluster, "case")
    for extra in ((), ("writer",), ("store", "access"), ("writer", "store", "access")):
        sel: dict = {"case": cases[0] if len(cases) == 1 else cases}
        for key in extra:
            vals = _common(cluster, key)
            sel[key] = vals[0] if len(vals) == 1 else vals
        if clean(sel):
            return [sel]
    # Cell by cell (rare: outcomes that interleave within one case).
    out = []
    for r in cluster:
        f = _facts(r)
        sel = {"writer": f.writer, "case": f.case, "store": f.store, "access": f.access}
        if sel not in out:
            out.append(sel)
    return out


def _version_key(v: str):
    try:
        return (0, Version(v.lstrip("v")))
    except InvalidVersion:
        return (1, v)


def _versions_range(cluster_versions: set[str], all_versions: set[str]) -> list[tuple[str, set[str]]]:
    """Split a cluster's versions into runs that a range can name: [(range, versions)]."""
    if any(_version_key(v)[0] for v in all_versions):
        return [("*", set(cluster_versions))]  # versions a range cannot speak about
    ordered = sorted(all_versions, key=_version_key)
    if cluster_versions == all_versions:
        low = min(cluster_versions, key=_version_key)
        return [(f">={low.lstrip('v')}", set(cluster_versions))]
    runs, current = [], []
    for v in ordered:
        if v in cluster_versions:
            current.append(v)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    out = []
    for run in runs:
        hi_index = ordered.index(run[-1])
        above = ordered[hi_index + 1] if hi_index + 1 < len(ordered) else None
        rng = f">={run[0].lstrip('v')}" + (f",<{above.lstrip('v')}" if above else "")
        out.append((rng, set(run)))
    return out


def propose(records: list[dict], writes: list[dict], findings: Findings) -> list[Proposal]:
    """Proposals for every unexpected cell and write of a judged run."""
    proposals: list[Proposal] = []
    unexpected = [r for r in records if r.get("unexpected") and r["outcome"] != "pass"]
    # A dataset every reader fails, while the same readers read other writers' datasets of the case:
    # the writer's fault (its metadata passed the dataset check, so it is in the chunks).
    by_dataset = defaultdict(list)
    for r in unexpected:
        by_dataset[(r["writer"], r["case"], r["store"], r.get("access"))].append(r)
    passes = {(r["reader"], r["case"], r["store"], r.get("access")) for r in records if r["outcome"] == "pass"}
    writer_fault: set[int] = set()
    for (w, c, st, acc), recs in by_dataset.items():
        readers = {r["reader"] for r in recs}
        read_all = {r["reader"] for r in records if (r["writer"], r["case"], r["store"], r.get("access")) == (w, c, st, acc)}
        if len(readers) >= 3 and readers == read_all and all((rd, c, st, acc) in passes for rd in readers):
            writer_fault |= {id(r) for r in recs}
    clusters: dict[tuple, list[dict]] = defaultdict(list)
    for r in unexpected:
        if id(r) in writer_fault:
            clusters[("writer", r["writer"].split("@")[0], r["outcome"], "every reader fails this writer's dataset")].append(r)
        else:
            clusters[("reader", r["reader"].split("@")[0], r["outcome"], normalize(r.get("message") or r.get("diagnosis") or ""))].append(r)
    for w in writes:
        if w.get("unexpected") and w["status"] != "ok":
            clusters[("writer-write", w["writer"].split("@")[0], w["status"], normalize(w.get("message") or ""))].append(w)
    for (kind, impl, outcome, message), cluster in sorted(clusters.items()):
        role = "reader" if kind == "reader" else "writer"
        who = "reader" if role == "reader" else "writer"
        pool = writes if kind == "writer-write" else records
        universe = [r for r in pool if r[who].split("@")[0] == impl]

        def version(r):  # the version the library reported, as findings are matched
            return r.get(f"{who}_version") or r[who].partition("@")[2]

        all_versions = {version(r) for r in universe}
        versions = {version(r) for r in cluster}
        for rng, vs in _versions_range(versions, all_versions):
            part = [r for r in cluster if version(r) in vs]
            scope = [r for r in universe if version(r) in vs]
            p = Proposal(impl, role, outcome, message, part, smallest_selectors(part, scope), rng,
                         "writes" if kind == "writer-write" else "reads")
            proposals.append(p)
    return proposals


def as_yaml(proposals: list[Proposal], findings: Findings) -> str:
    taken = set(findings.by_id)
    by_impl: dict[str, list[dict]] = defaultdict(list)
    for p in proposals:
        by_impl[p.implementation].append(p.finding(taken))
    docs = [{"implementation": impl, "findings": fs} for impl, fs in sorted(by_impl.items())]
    header = ("# Proposed findings: review each (title, severity, error text, upstream link), then move the\n"
              "# accepted ones into findings/<implementation>.yaml. Generated by `zarr-conformance expectations update`.\n")
    return header + yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True, width=120)


def append_to(findings_dir: Path, implementation: str, finding: dict) -> Path:
    """Add one accepted finding at the end of findings/<implementation>.yaml (made when missing)."""
    path = findings_dir / f"{implementation}.yaml"
    block = yaml.safe_dump([finding], sort_keys=False, allow_unicode=True, width=120)
    if not path.exists():
        path.write_text(f"implementation: {implementation}\nfindings:\n{block}", encoding="utf-8")
        return path
    text = path.read_text(encoding="utf-8")
    if re.search(r"^findings:\s*\[\]\s*$", text, re.M):
        text = re.sub(r"^findings:\s*\[\]\s*$", "findings:", text, flags=re.M)
    path.write_text(text.rstrip("\n") + "\n" + block, encoding="utf-8")
    return path


def describe(p: Proposal) -> str:
    cases = sorted({c["case"] for c in p.cells})
    sel = "; ".join(", ".join(f"{k}={v}" for k, v in s.items()) for s in p.selectors[:4])
    more = f" (+{len(p.selectors) - 4} selectors)" if len(p.selectors) > 4 else ""
    return (f"{p.implementation} ({p.role}, versions {p.versions}): {len(p.cells)} {p.outcome} "
            f"over {len(cases)} cases\n  message: {p.message or '-'}\n  cells: {sel}{more}")


def known_cases() -> set[str]:
    return set(catalogue())
