"""Expectations: recorded known outcomes, with a reason and an upstream link.

expectations.yaml is a list of entries; the first entry whose globs match a
cell gives its expected outcome. Cells no entry matches are expected to pass
(or to be `unsupported` / `skipped`, which are declared gaps, not failures).
Expected failures still run, so a fix shows up as an unexpected pass.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from .matrix import ConfigError

OUTCOMES = ("pass", "mismatch", "error", "unsupported", "timeout", "crash", "skipped")
NEUTRAL = {"pass", "unsupported", "skipped"}  # what a cell without an entry may be


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    writer: str = "*"
    reader: str = "*"
    case: str = "*"
    store: str = "*"
    outcome: Literal[OUTCOMES]  # type: ignore[valid-type]
    reason: str = Field(min_length=1)
    link: str = ""

    def matches(self, cell: dict) -> bool:
        return all(fnmatch.fnmatchcase(str(cell.get(k, "")), getattr(self, k))
                   for k in ("writer", "reader", "case", "store"))


class Expectations:
    def __init__(self, entries: list[Expectation] | None = None, path: Path | None = None):
        self.entries = entries or []
        self.path = path

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
        for e in self.entries:
            if e.matches(cell):
                return e
        return None

    def judge(self, cell: dict, outcome: str) -> tuple[str, bool, Expectation | None]:
        """(expected outcome, unexpected?, the entry) for a cell's outcome."""
        entry = self.lookup(cell)
        if entry is None:
            return "pass", outcome not in NEUTRAL, None
        return entry.outcome, outcome != entry.outcome, entry


def update(path: Path, records: list[dict]) -> int:
    """Rewrite the expectations file from a run: one entry per failing (writer, reader, case),
    across stores when every store agrees. Reasons and links of existing entries are kept."""
    old = Expectations.load(path) if path.exists() else Expectations()
    groups: dict[tuple, dict[str, dict]] = {}
    for r in records:
        if r["outcome"] in NEUTRAL:
            continue
        key = (r["writer"], r["reader"], r["case"])
        groups.setdefault(key, {})[r["store"]] = r
    all_stores = sorted({r["store"] for r in records})
    entries = []
    for (writer, reader, case), by_store in sorted(groups.items()):
        outcomes = {r["outcome"] for r in by_store.values()}
        same = len(outcomes) == 1 and sorted(by_store) == all_stores
        for store, r in ([("*", next(iter(by_store.values())))] if same else sorted(by_store.items())):
            cell = {"writer": writer, "reader": reader, "case": case, "store": store if store != "*" else all_stores[0]}
            prev = old.lookup(cell)
            entries.append({
                "writer": writer, "reader": reader, "case": case, "store": store, "outcome": r["outcome"],
                "reason": prev.reason if prev and prev.outcome == r["outcome"] else (r.get("message") or r["outcome"])[:500],
                "link": prev.link if prev else "",
            })
    header = ("# Known outcomes of the conformance matrix (zarr-conformance expectations update).\n"
              "# First matching entry wins; globs in writer/reader/case/store. Give each a reason and,\n"
              "# where there is one, the upstream issue.\n")
    path.write_text(header + yaml.safe_dump(entries, sort_keys=False, allow_unicode=True, width=120))
    return len(entries)
