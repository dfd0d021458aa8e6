"""Expectations: recorded known outcomes, with a reason and an upstream link.

expectations.yaml is a list of entries; the first entry whose globs match a
cell gives its expected outcome. Cells no entry matches are expected to pass
(or to be `unsupported` / `skipped`, which are declared gaps, not failures).
Expected failures still run, so a fix shows up as an unexpected pass.
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .matrix import ROOT, ConfigError

OUTCOMES = ("pass", "mismatch", "error", "unsupported", "timeout", "crash", "skipped")
NEUTRAL = {"pass", "unsupported", "skipped"}  # what a cell without an entry may be


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    writer: str = "*"
    reader: str = "*"
    case: str = "*"
    store: str = "*"
    access: str = "*"
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    reason: str = Field(min_length=1)
    link: str = ""

    def matches(self, cell: dict) -> bool:
        return all(fnmatch.fnmatchcase(str(cell.get(k) or ("signed" if k == "access" else "")), getattr(self, k))
                   for k in ("writer", "reader", "case", "store", "access"))


def _is_glob(pattern: str) -> bool:
    return any(ch in pattern for ch in "*?[")


class Expectations:
    def __init__(self, entries: list[Expectation] | None = None, path: Path | None = None):
        self.entries = entries or []
        self.path = path
        # Index by exact (reader, case) where an entry names them without globs: a run looks
        # up every cell, and a file can hold thousands of entries.
        self._exact: dict[tuple, list[int]] = {}
        self._globbed: list[int] = []
        for i, e in enumerate(self.entries):
            if _is_glob(e.reader) or _is_glob(e.case):
                self._globbed.append(i)
            else:
                self._exact.setdefault((e.reader, e.case), []).append(i)

    @classmethod
    def load(cls, path: str | Path | None) -> "Expectations":
        if not path:
            return cls()
        path = Path(path)
        if not path.exists():
            raise ConfigError(f"{path}: expectations file not found")
        try:
            raw = yaml.safe_load(path.read_text()) or []
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from None
        if isinstance(raw, dict):
            raw = raw.get("expectations", [])
        try:
            entries = TypeAdapter(list[Expectation]).validate_python(raw)
        except ValidationError as exc:
            lines = [f"{path}: entry {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            raise ConfigError("\n".join(lines)) from None
        return cls(entries, path)

    def lookup(self, cell: dict) -> Expectation | None:
        candidates = sorted(self._exact.get((cell.get("reader"), cell.get("case")), []) + self._globbed)
        for i in candidates:
            if self.entries[i].matches(cell):
                return self.entries[i]
        return None

    def judge(self, cell: dict, outcome: str) -> tuple[str, bool, Expectation | None]:
        """(expected outcome, unexpected?, the entry) for a cell's outcome."""
        entry = self.lookup(cell)
        if entry is None:
            return "pass", outcome not in NEUTRAL, None
        return entry.outcome, outcome != entry.outcome, entry


_DATASET_PATH = re.compile(r"(?:file://)?/[^\s\"']*?/datasets/[^\s\"']+?/dataset")


def scrub(text: str) -> str:
    """Error texts name this machine's dataset paths; the file is shared, so they become <dataset>."""
    text = _DATASET_PATH.sub("<dataset>", text)
    return text.replace(str(ROOT), "<root>").replace(str(Path.home()), "~")


def _reason(r: dict) -> str:
    text = r.get("message") or r["outcome"]
    if r.get("diagnosis"):
        text += f" [{r['diagnosis']}]"
    return scrub(text)[:400]


def update(path: Path, records: list[dict]) -> int:
    """Rewrite the expectations file from a run's failing cells. Entries are collapsed
    with globs where the outcome is the same for a reader across a whole format, or for
    every store and access mode, and then for every writer, of a (reader, case).
    Reasons and links already written are kept, and so are entries about cells the run
    did not read."""
    old = Expectations.load(path) if path.exists() else Expectations()
    cells: dict[tuple, dict] = {(r["writer"], r["reader"], r["case"], r["store"], r.get("access") or "signed"): r
                                for r in records}
    combos = sorted({(k[3], k[4]) for k in cells})
    writers_of: dict[tuple, set] = {}
    for (w, rd, c, _st, _acc) in cells:
        writers_of.setdefault((rd, c), set()).add(w)

    def uniform(keys) -> str | None:
        """The one failing outcome shared by all these cells, if there is one."""
        outs = {cells[k]["outcome"] if k in cells else None for k in keys}
        if len(outs) == 1:
            (o,) = outs
            return o if o is not None and o not in NEUTRAL else None
        return None

    entries = []  # (writer, reader, case, store, access, record)
    # A reader that fails a whole format the same way (GDAL 3.6 and final v3, say) gets one entry.
    by_format: dict[tuple, list] = {}
    for k, r in cells.items():
        by_format.setdefault((k[1], k[2].split("/")[0]), []).append(r)
    whole = set()
    for (rd, prefix), recs in sorted(by_format.items()):
        outs = {r["outcome"] for r in recs}
        if len(outs) == 1 and not outs & NEUTRAL:
            entries.append(("*", rd, f"{prefix}/*", "*", "*", recs[0]))
            whole.add((rd, prefix))
    for (rd, c), writers in sorted(writers_of.items()):
        if (rd, c.split("/")[0]) in whole:
            continue
        # Only the store/access combinations this case was read in (access modes read some cases only).
        every = [k for k in ((w, rd, c, st, acc) for w in writers for st, acc in combos) if k in cells]
        if uniform(every) is not None:
            entries.append(("*", rd, c, "*", "*", cells[every[0]]))
            continue
        for w in sorted(writers):
            per_combo = [k for k in ((w, rd, c, st, acc) for st, acc in combos) if k in cells]
            if uniform(per_combo) is not None:
                entries.append((w, rd, c, "*", "*", cells[per_combo[0]]))
                continue
            for k in per_combo:
                if k in cells and cells[k]["outcome"] not in NEUTRAL:
                    entries.append((w, rd, c, k[3], k[4], cells[k]))
    out = []
    for w, rd, c, st, acc, r in entries:
        probe = {"writer": r["writer"], "reader": rd, "case": r["case"], "store": r["store"], "access": r.get("access")}
        prev = old.lookup(probe)
        keep = prev is not None and prev.outcome == r["outcome"]
        out.append({"writer": w, "reader": rd, "case": c, "store": st, "access": acc, "outcome": r["outcome"],
                    "reason": scrub(prev.reason) if keep else _reason(r), "link": prev.link if keep else ""})
    # Entries about cells this run did not read (another profile, store or tier) are kept as they were.
    run_pairs = {(k[1], k[2]) for k in cells}
    run_readers_formats = {(k[1], k[2].split("/")[0]) for k in cells}
    written = {(e["writer"], e["reader"], e["case"], e["store"], e["access"]) for e in out}
    for e in old.entries:
        if (e.writer, e.reader, e.case, e.store, e.access) in written:
            continue
        if _is_glob(e.reader) or _is_glob(e.case):
            untouched = (e.reader, e.case.split("/")[0]) not in run_readers_formats
        else:
            untouched = (e.reader, e.case) not in run_pairs
        if untouched:
            out.append({**e.model_dump(), "reason": scrub(e.reason)})
    # First match wins: specific entries before the globbed ones they refine.
    out.sort(key=lambda e: (e["reader"], _is_glob(e["case"]), e["case"], e["writer"] == "*", e["store"] == "*",
                            e["access"] == "*", e["writer"], e["store"], e["access"]))
    header = ("# Known outcomes of the conformance matrix, written by `zarr-conformance expectations update`\n"
              "# and reviewed: each reason is the library's own error (or what the data showed), with the\n"
              "# upstream issue where there is one. First matching entry wins; globs in writer/reader/case/store.\n")
    path.write_text(header + yaml.safe_dump(out, sort_keys=False, allow_unicode=True, width=120))
    return len(out)
