"""Judging: a run's records against the findings, apart from running it.

`report` re-judges a finished run with the findings as they are now, so
editing a finding and re-rendering needs no new run.

The rules, for a read cell:

- a cell of a dataset whose writer wrote it wrong (harness/dataset_check.py)
  is labelled as reading a faulty dataset: the writer's finding carries it,
  never the reader;
- a cell read from a store that does not serve the dataset as it was
  published (harness/store_check.py) is labelled as reading a faulty store;
- `skipped` (no dataset, implementation or store) is never unexpected by
  itself: the write record or the run's "not available" list carries why;
- a finding about the cell that predicts its outcome makes it expected;
- otherwise `pass` is expected, and anything else is unexpected, also
  `unsupported` and `flaky` (a regression is never neutral).

A write record is judged the same way against writer findings, `ok` being
what is expected without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .findings import CellFacts, Finding, Findings


@dataclass
class Judgement:
    expected: list[str]
    unexpected: bool
    finding: str = ""  # the finding that explains the outcome
    label: str = ""  # "faulty-dataset" when the writer is at fault, "faulty-store" when the store is

    def fields(self) -> dict:
        return {"expected": self.expected, "unexpected": self.unexpected, "finding": self.finding, "label": self.label}


def _judge(outcome: str, candidates: list[Finding], default: str) -> Judgement:
    for f in candidates:
        if outcome in f.outcomes:
            return Judgement(list(f.outcomes), False, f.id)
    if candidates:
        predicted = sorted({o for f in candidates for o in f.outcomes})
        return Judgement(predicted, True, "")
    return Judgement([default], outcome != default)


# Labels of cells whose outcome is not the reader's doing: never counted for or against a reader.
NOT_THE_READERS = ("faulty-dataset", "faulty-store")


def charged_to_reader(rec: dict) -> bool:
    return rec.get("label") not in NOT_THE_READERS


def judge_cell(rec: dict, findings: Findings) -> Judgement:
    if rec.get("dataset_fault"):
        return Judgement([rec["outcome"]], False, rec.get("fault_finding", ""), "faulty-dataset")
    if rec.get("store_fault"):
        return Judgement([rec["outcome"]], False, "", "faulty-store")
    if rec["outcome"] == "skipped":
        return Judgement(["skipped"], False)
    return _judge(rec["outcome"], findings.about(CellFacts.of(rec), "reads"), "pass")


def judge_write(rec: dict, findings: Findings) -> Judgement:
    if rec["status"] == "skipped":  # the writer is not available: the run's "not available" says why
        return Judgement(["skipped"], False)
    return _judge(rec["status"], findings.about(CellFacts.of(rec), "writes"), "ok")


def rejudge(records: list[dict], writes: list[dict], findings: Findings) -> tuple[list[dict], list[dict]]:
    """Records and write records with their judgement recomputed against these findings.
    A read cell of a faulty dataset is credited to the writer finding that explains the fault."""
    judged_writes = [{**w, **judge_write(w, findings).fields()} for w in writes]
    fault_finding = {(w["writer"], w["case"], w.get("store") or ""): w["finding"]
                     for w in judged_writes if w["status"] == "faulty"}
    out = []
    for r in records:
        if r.get("dataset_fault"):
            store = r["store"].removesuffix("+native-write") if r.get("write_mode") == "native" else ""
            r = {**r, "fault_finding": fault_finding.get((r["writer"], r["case"], store), "")}
        out.append({**r, **judge_cell(r, findings).fields()})
    return out, judged_writes


def stale(findings: Findings, records: list[dict], writes: list[dict]) -> dict[str, str]:
    """Findings a run says nothing in favour of: `matches no cell` (its selectors or version
    range are stale) or `holds for no cell` (every cell it names now has another outcome: fixed?).
    Only findings about implementations the run covered are reported."""
    covered = {r[k].split("@")[0] for r in records for k in ("reader", "writer")} | {w["writer"].split("@")[0] for w in writes}
    seen: dict[str, set] = {}
    for r in records:
        for f in findings.about(CellFacts.of(r), "reads"):
            seen.setdefault(f.id, set()).add(r["outcome"])
    for w in writes:
        for f in findings.about(CellFacts.of(w), "writes"):
            seen.setdefault(f.id, set()).add(w["status"])
    out = {}
    for f in findings.all:
        if f.implementation not in covered:
            continue
        if f.id not in seen:
            out[f.id] = "matches no cell of this run"
        elif not seen[f.id] & set(f.outcomes):
            out[f.id] = f"holds for no cell: they answered {', '.join(sorted(seen[f.id]))} (fixed?)"
    return out
