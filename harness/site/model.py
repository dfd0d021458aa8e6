"""The runs a site is built from: loaded, judged against the findings of now, and summarised.

A run comes either from a run directory (results.jsonl, writes.jsonl, run.json)
or from the data of a site published before (data/runs/<id>/: run.json,
cells.json, writes.json; harness/site/data.py writes them), so that a new site
keeps the history of the old one. Records of older harness versions lack some
fields (`attempts`, `dataset_fault`, `label`...): they are filled with their
neutral value before judging.

Across runs an implementation is known by its NAME: `zarr-python@3.0.10` in one
run and `zarr-python@3.1.6` in the next are the same implementation at a new
version (a version bump), so their cells are compared. A run may hold several
versions of one name; `pair_versions` matches them (same version with itself,
then the remaining ones newest with newest).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from packaging.version import InvalidVersion, Version

from ..cases import catalogue
from ..findings import Findings
from ..judge import charged_to_reader, rejudge
from ..matrix import ConfigError
from ..results import OUTCOME_ORDER, latest_records, load_jsonl

FAILING = ("mismatch", "error", "unsupported", "timeout", "crash", "flaky")

# Neutral values of the fields a record of an older harness may lack.
RECORD_DEFAULTS = {"access": "signed", "write_mode": "local", "writer_version": "", "reader_version": "", "format": "",
                   "attempts": None, "message": "", "diagnosis": "", "dataset_fault": "", "store_fault": "", "duration_ms": None,
                   "reader_elapsed_ms": None}
WRITE_DEFAULTS = {"writer_version": "", "format": "", "message": "", "faults": [], "cached": False, "duration_ms": None}


def name_of(impl_id: str) -> str:
    return (impl_id or "").partition("@")[0]


def version_of(impl_id: str) -> str:
    return (impl_id or "").partition("@")[2]


def version_key(v: str):
    try:
        return (1, Version(v.lstrip("v")), "")
    except InvalidVersion:
        return (0, Version("0"), v)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def _normalise(rec: dict, defaults: dict) -> dict:
    out = {**defaults, **{k: v for k, v in rec.items() if v is not None or k not in defaults}}
    for k in ("message", "diagnosis", "dataset_fault", "store_fault"):
        if k in out and out[k] is None:
            out[k] = ""
    return out


def _fill_format(rec: dict) -> dict:
    if not rec.get("format"):
        case = catalogue().get(rec.get("case", ""))
        if case:
            rec["format"] = case.format
        else:  # a case of another catalogue: the id's prefix says its format
            rec["format"] = {"v2": "zarr2", "v3": "zarr3", "n5": "n5"}.get(rec.get("case", "").split("/")[0], "")
    return rec


def _read_json(path: Path):
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return json.load(f)
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass
class Run:
    """One run, judged against the findings the site is built with."""

    id: str
    info: dict
    records: list[dict]
    writes: list[dict]
    source: str  # where it was loaded from (a run directory or published data)
    run_dir: Path | None = None  # a real run directory (reproducers can be made from it)
    has_cells: bool = True  # False for a run the history keeps only as a summary
    summary: dict = field(default_factory=dict)  # for history-only runs: what the index kept
    diff: dict | None = None  # for history-only runs: the diff the index kept

    @property
    def started(self) -> str:
        return self.info.get("started") or ""

    @property
    def profile(self) -> str:
        return self.info.get("profile") or ""

    @cached_property
    def impl_ids(self) -> list[str]:
        """Every implementation id of the run: writers, readers and those in its handshakes."""
        ids = set(self.info.get("implementations") or {})
        ids |= {r[k] for r in self.records for k in ("writer", "reader")} | {w["writer"] for w in self.writes}
        if not self.has_cells:
            ids |= set((self.summary.get("implementations") or {}))
        return sorted(i for i in ids if i)

    def reported_version(self, impl_id: str) -> str:
        h = (self.info.get("implementations") or {}).get(impl_id) or {}
        if h.get("version"):
            return str(h["version"])
        for r in self.records:
            if r["reader"] == impl_id and r.get("reader_version"):
                return r["reader_version"]
            if r["writer"] == impl_id and r.get("writer_version"):
                return r["writer_version"]
        return version_of(impl_id)

    def components(self, impl_id: str) -> dict:
        return dict(((self.info.get("implementations") or {}).get(impl_id) or {}).get("components") or {})

    def language(self, impl_id: str) -> str:
        return ((self.info.get("implementations") or {}).get(impl_id) or {}).get("language") or ""

    @cached_property
    def cases(self) -> list[str]:
        return sorted({r["case"] for r in self.records} | set(self.info.get("cases") or []))

    @cached_property
    def store_modes(self) -> list[tuple[str, str]]:
        return sorted({(r["store"], r.get("access") or "signed") for r in self.records},
                      key=lambda sa: store_order(sa))

    @cached_property
    def formats(self) -> list[str]:
        order = {"zarr2": 0, "zarr3": 1, "n5": 2}
        return sorted({r["format"] for r in self.records if r.get("format")}, key=lambda f: (order.get(f, 9), f))


def store_order(sa: tuple[str, str]):
    store, access = sa
    kinds = {"local": 0, "http": 1, "s3-moto": 2, "s3-minio": 3}
    modes = {"signed": 0, "anonymous": 1, "anonymous-nolist": 2, "forbidden-chunk": 3}
    base = store.split("+")[0]
    return (kinds.get(base, 9), base, "+" in store, store, modes.get(access, 9), access)


def store_label(store: str, access: str) -> str:
    return store if access in ("", "signed", None) else f"{store} · {access}"


def run_id_for(info: dict, fallback: str) -> str:
    started = info.get("started")
    if started:
        try:
            t = dt.datetime.fromisoformat(started)
            if t.tzinfo is not None:
                t = t.astimezone(dt.timezone.utc)
            return t.strftime("%Y%m%d-%H%M%S") + (f"-{slug(info['profile'])}" if info.get("profile") else "")
        except ValueError:
            pass
    return slug(fallback)


def load_run_dir(path: Path, findings: Findings) -> Run:
    path = Path(path)
    if (path / "results.jsonl").exists():
        records = latest_records(load_jsonl(path / "results.jsonl"))
        writes = load_jsonl(path / "writes.jsonl")
        info = json.loads((path / "run.json").read_text()) if (path / "run.json").exists() else {}
        run = _make_run(info, records, writes, str(path), findings, fallback=path.name)
        run.run_dir = path
        return run
    if (path / "cells.json").exists() or (path / "cells.json.gz").exists():
        return load_published_run(path, findings)
    raise ConfigError(f"{path}: neither a run directory (results.jsonl) nor a published run (cells.json)")


def _make_run(info: dict, records: list[dict], writes: list[dict], source: str, findings: Findings,
              fallback: str) -> Run:
    records = [_fill_format(_normalise(r, RECORD_DEFAULTS)) for r in records]
    writes = [_fill_format(_normalise(w, WRITE_DEFAULTS)) for w in writes]
    records, writes = rejudge(records, writes, findings)
    return Run(id=info.get("id") or run_id_for(info, fallback), info=info, records=records, writes=writes,
               source=source)


def load_published_run(path: Path, findings: Findings) -> Run:
    """A run from a published site's data/runs/<id>/ (harness/site/data.py's cells.json and writes.json)."""
    from .data import decode_table

    path = Path(path)
    info = json.loads((path / "run.json").read_text(encoding="utf-8"))
    cells_path = path / "cells.json" if (path / "cells.json").exists() else path / "cells.json.gz"
    records = decode_table(_read_json(cells_path))
    writes_path = path / "writes.json"
    writes = decode_table(_read_json(writes_path)) if writes_path.exists() else []
    for r in records + writes:  # judgement fields are recomputed
        for k in ("expected", "unexpected", "finding", "label", "fault_finding"):
            r.pop(k, None)
    return _make_run(info, records, writes, str(path), findings, fallback=path.name)


def history_run(entry: dict) -> Run:
    """A run of which a published index kept only the summary (its cells were dropped)."""
    info = dict(entry.get("info") or {})
    run = Run(id=entry["id"], info=info, records=[], writes=[], source="history", has_cells=False,
              summary=entry.get("summary") or {}, diff=entry.get("diff"))
    return run


# --- pairing implementations across runs -------------------------------------------------

@dataclass
class Pairing:
    """How the implementations of a previous run map onto those of the current one."""

    to_current: dict[str, str]  # previous id -> current id (same version, or bumped)
    bumps: list[dict]  # {name, from, to} where the version changed
    added: list[str]  # current ids with no counterpart
    removed: list[str]  # previous ids with no counterpart


def pair_versions(previous: list[str], current: list[str]) -> Pairing:
    by_name_p: dict[str, list[str]] = defaultdict(list)
    by_name_c: dict[str, list[str]] = defaultdict(list)
    for i in previous:
        by_name_p[name_of(i)].append(i)
    for i in current:
        by_name_c[name_of(i)].append(i)
    to_current, bumps, added, removed = {}, [], [], []
    for name in sorted(set(by_name_p) | set(by_name_c)):
        p, c = by_name_p.get(name, []), by_name_c.get(name, [])
        common = set(p) & set(c)
        for i in common:
            to_current[i] = i
        rest_p = sorted((i for i in p if i not in common), key=lambda i: version_key(version_of(i)), reverse=True)
        rest_c = sorted((i for i in c if i not in common), key=lambda i: version_key(version_of(i)), reverse=True)
        for a, b in zip(rest_p, rest_c):
            to_current[a] = b
            bumps.append({"name": name, "from": a, "to": b, "from_version": version_of(a), "to_version": version_of(b)})
        added += rest_c[len(rest_p):]
        removed += rest_p[len(rest_c):]
    return Pairing(to_current, bumps, sorted(added), sorted(removed))


# --- aggregates ---------------------------------------------------------------------------

def share_counts(records, key=None) -> dict:
    """{key: Counter of outcomes} over records (all when key is None)."""
    out: dict = defaultdict(Counter)
    for r in records:
        out[key(r) if key else None][r["outcome"]] += 1
    return out


def judged(c: Counter | dict) -> int:
    """Cells with a verdict: every outcome but skipped."""
    return sum(n for o, n in c.items() if o != "skipped")


def pass_share(c: Counter | dict) -> float | None:
    n = judged(c)
    return None if n == 0 else c.get("pass", 0) / n


def share_text(c: Counter | dict) -> str:
    """The share that passes as a whole percentage that never rounds a failure away."""
    n = judged(c)
    if n == 0:
        return "–"
    p = c.get("pass", 0)
    if p == n:
        return "100"
    if p == 0:
        return "0"
    pct = 100 * p / n
    return "<1" if pct < 1 else (">99" if pct > 99 else str(int(pct)))


def counts_list(c: Counter | dict) -> list[int]:
    """Outcome counts in OUTCOME_ORDER (the compact form the pages embed)."""
    return [int(c.get(o, 0)) for o in OUTCOME_ORDER]


def impl_summary(run: Run) -> dict:
    """Per implementation id: its cells as a reader (its own verdicts: datasets its writer got wrong left
    out), its datasets as read by every reader, and its writes. What history keeps of a run."""
    out: dict[str, dict] = {}
    for i in run.impl_ids:
        out[i] = {"name": name_of(i), "version": run.reported_version(i), "reads": Counter(), "read_by_others": Counter(),
                  "writes": Counter(), "unexpected": 0}
    for r in run.records:
        if charged_to_reader(r):
            out[r["reader"]]["reads"][r["outcome"]] += 1
        out[r["writer"]]["read_by_others"][r["outcome"]] += 1
        if r.get("unexpected"):
            out[r["reader"]]["unexpected"] += 1
    for w in run.writes:
        out[w["writer"]]["writes"][w["status"]] += 1
    return {i: {**v, "reads": dict(v["reads"]), "read_by_others": dict(v["read_by_others"]), "writes": dict(v["writes"])}
            for i, v in out.items()}


def run_summary(run: Run) -> dict:
    if not run.has_cells:
        return run.summary
    counts = Counter(r["outcome"] for r in run.records)
    return {
        "cells": len(run.records),
        "counts": dict(counts),
        "unexpected": sum(1 for r in run.records if r.get("unexpected")),
        "unexpected_writes": sum(1 for w in run.writes if w.get("unexpected")),
        "faulty_datasets": sum(1 for w in run.writes if w["status"] == "faulty"),
        "findings_explaining": len({r["finding"] for r in run.records + run.writes if r.get("finding")}),
        "implementations": impl_summary(run),
        "cases": len(run.cases),
        "stores": [list(sa) for sa in run.store_modes],
    }


def tracks(runs: list[Run]) -> list[dict]:
    """Implementations followed across runs (oldest first) by name: one track per lineage of versions.
    Each track: {name, label, ids: {run id: impl id}}."""
    out: list[dict] = []
    last: dict[str, dict] = {}  # impl id in the previous run -> its track
    prev_ids: list[str] = []
    for run in runs:
        ids = run.impl_ids
        pairing = pair_versions(prev_ids, ids)
        back = {v: k for k, v in pairing.to_current.items()}
        now: dict[str, dict] = {}
        for i in ids:
            t = last.get(back[i]) if i in back else None
            if t is None:
                t = {"name": name_of(i), "ids": {}}
                out.append(t)
            t["ids"][run.id] = i
            now[i] = t
        last, prev_ids = now, ids
    by_name = Counter(t["name"] for t in out)
    for t in out:
        latest = list(t["ids"].values())[-1]
        t["label"] = t["name"] if by_name[t["name"]] == 1 else f"{t['name']} ({version_of(latest)})"
        t["latest"] = latest
    return sorted(out, key=lambda t: (t["name"], _neg(version_key(version_of(t["latest"])))))


def _neg(key):
    """A version key sorted newest first."""
    return (-key[0], _Reversed(key[1]), key[2])


class _Reversed:
    def __init__(self, v):
        self.v = v

    def __lt__(self, other):
        return self.v > other.v

    def __eq__(self, other):
        return self.v == other.v
