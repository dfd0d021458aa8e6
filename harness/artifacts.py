"""The run directory: results appended as cells finish, then the derived artifacts.

results.jsonl and writes.jsonl are the run's facts (one line per cell, per
write), each judged against the findings of the time. Everything else is
derived and can be rendered again from them with other findings
(`zarr-conformance report`): run.json's counts, junit.xml, summary.md,
report.html.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from .findings import Findings
from .judge import rejudge, stale
from .matrix import ROOT, ConfigError
from .results import ResultsLog, cell_key, latest_records, load_jsonl, write_junit, write_summary


def reports_root() -> Path:
    """Where runs land by default (the tests point it at a temporary directory)."""
    return Path(os.environ.get("ZC_REPORTS") or ROOT / "reports")


def default_out() -> Path:
    return reports_root() / dt.datetime.now().strftime("%Y%m%d-%H%M%S")


class RunDir:
    def __init__(self, out: Path | None, resume: bool = False):
        self.path = Path(out) if out else default_out()
        self.resume = resume
        self.results: ResultsLog | None = None
        self.writes: ResultsLog | None = None
        self.done: set[tuple] = set()

    def open(self, log=print) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._link_latest()
        results = self.path / "results.jsonl"
        if self.resume:
            self.done = {cell_key(r) for r in load_jsonl(results)}
            log(f"resuming: {len(self.done)} cells already in {results}")
        else:
            for name in ("results.jsonl", "writes.jsonl"):
                if (self.path / name).exists():
                    (self.path / name).unlink()
        self.results = ResultsLog(results)
        self.writes = ResultsLog(self.path / "writes.jsonl")

    def _link_latest(self) -> None:
        latest = reports_root() / "latest"
        if self.path.parent.resolve() != latest.parent.resolve():
            return
        try:
            if latest.is_symlink() or latest.exists():
                latest.unlink()
            latest.symlink_to(self.path.name)
        except OSError:
            pass

    def close(self) -> None:
        for log in (self.results, self.writes):
            if log:
                log.close()
        self.results = self.writes = None


def load_run(run_dir: Path) -> tuple[list[dict], list[dict], dict]:
    if not (run_dir / "results.jsonl").exists():
        raise ConfigError(f"{run_dir}: no results.jsonl here (run the matrix first)")
    records = latest_records(load_jsonl(run_dir / "results.jsonl"))
    writes = load_jsonl(run_dir / "writes.jsonl")
    info = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else {}
    return records, writes, info


def read_cost(records: list[dict]) -> dict:
    """Seconds spent in read cells, by reader and store, costliest reader first: where a run's time goes.

    A cell's duration is the harness's wall time for its requests; with -j N workers these add up
    to about N times the read stage.
    """
    cost: dict[str, dict[str, float]] = {}
    for r in records:
        if r.get("duration_ms"):
            by_store = cost.setdefault(r["reader"], {})
            by_store[r["store"]] = by_store.get(r["store"], 0.0) + r["duration_ms"] / 1000
    total = {reader: sum(v.values()) for reader, v in cost.items()}
    return {reader: {"total": round(total[reader], 1), **{s: round(t, 1) for s, t in sorted(cost[reader].items())}}
            for reader in sorted(cost, key=lambda k: -total[k])}


def render(run_dir: Path, records: list[dict], writes: list[dict], info: dict, findings: Findings) -> dict:
    """Judge a run's records against these findings and write every derived artifact."""
    records, writes = rejudge(records, writes, findings)
    info = {**info}
    info["counts"] = {o: sum(1 for r in records if r["outcome"] == o) for o in sorted({r["outcome"] for r in records})}
    info["unexpected"] = sum(1 for r in records if r.get("unexpected"))
    info["read_cost_s"] = read_cost(records)
    info["unexpected_writes"] = sum(1 for w in writes if w.get("unexpected"))
    info["faulty_datasets"] = sum(1 for w in writes if w["status"] == "faulty")
    info["findings"] = {"count": len(findings), "explaining": len({r["finding"] for r in records + writes if r.get("finding")}),
                        "stale": stale(findings, records, writes)}
    (run_dir / "run.json").write_text(json.dumps(info, indent=2, ensure_ascii=False))
    write_junit(records, run_dir / "junit.xml")
    write_summary(records, writes, info, findings, run_dir / "summary.md")
    from .report import write_report

    write_report(run_dir, records, writes, info, findings)
    return info
