"""Read: one cell is one reader reading one published dataset, then verification.

The fast path asks only for the hash; a mismatch is read again with a dump so
that the diagnosis can compare the reader's data with the reference.

A case whose dataset was damaged on purpose (Case.expect "refusal") passes only when the reader
fails with an error; one that returns data is a `mismatch` diagnosed "accepted corrupt data".

An outcome the findings do not predict is read again a fixed number of times:
a cell that passes on one read and fails on another is `flaky` (with the
outcomes seen); one that fails every time keeps its gravest outcome, so a
reader that is wrong every time, differently each time, stays a `mismatch`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .generate import Dataset
from .matrix import ImplVersion
from .reference import expected_array
from .stores import Store
from .verify import check, diagnose
from .workers import WorkerError, WorkerPool


@dataclass
class Cell:
    dataset: Dataset
    store: Store
    access: str
    reader: ImplVersion
    key: str  # where the dataset sits in the store

    def ident(self) -> dict:
        # A dataset the writer wrote into the store itself counts as its own store column.
        store = f"{self.store.name}+native-write" if self.dataset.store else self.store.name
        return {"writer": self.dataset.writer.id, "case": self.dataset.case.id, "store": store,
                "access": self.access, "reader": self.reader.id}

    @property
    def test_id(self) -> str:
        return f"{self.dataset.writer.id}/{self.dataset.case.id}/{self.store.name}/{self.reader.id}"


@dataclass
class Outcome:
    outcome: str
    message: str = ""
    diagnosis: str = ""
    duration_ms: float = 0.0
    reader_elapsed_ms: float | None = None
    attempts: list[str] | None = None  # the outcomes of every read, when the cell was read again


# Gravest first, for a cell that fails every time in different ways.
GRAVITY = ["mismatch", "error", "crash", "timeout", "unsupported", "skipped"]


def read_with_retries(pool: WorkerPool, cell: Cell, expected_hash: str, retry_if, retries: int) -> Outcome:
    first = read_cell(pool, cell, expected_hash)
    if first.outcome == "skipped" or not retry_if(first):
        return first
    seen = [first]
    for _ in range(retries):
        seen.append(read_cell(pool, cell, expected_hash))
    outcomes = [o.outcome for o in seen]
    if len(set(outcomes)) == 1:
        first.attempts = outcomes
        return first
    if "pass" in outcomes:
        failing = next(o for o in seen if o.outcome != "pass")
        return Outcome("flaky", f"passed {outcomes.count('pass')} of {len(outcomes)} reads; "
                       f"otherwise {failing.outcome}: {failing.message}", failing.diagnosis,
                       first.duration_ms, first.reader_elapsed_ms, outcomes)
    gravest = min(seen, key=lambda o: GRAVITY.index(o.outcome) if o.outcome in GRAVITY else len(GRAVITY))
    gravest.attempts = outcomes
    return gravest


def read_cell(pool: WorkerPool, cell: Cell, expected_hash: str) -> Outcome:
    ds = cell.dataset
    if not ds.ok:
        return Outcome("skipped", f"no dataset: writer {ds.writer.id} answered {ds.status}: {ds.message}")
    case = ds.case
    target = cell.store.target(ds.path, cell.key, cell.access)
    req = {"op": "read", "format": case.format, "path": case.path, "target": target, "dump": None}
    if case.region:
        req["region"] = case.region_json
    t0 = time.perf_counter()
    try:
        resp = pool.call(cell.reader.id, req)
    except WorkerError as exc:
        return Outcome(exc.outcome, str(exc), duration_ms=(time.perf_counter() - t0) * 1000)
    took = (time.perf_counter() - t0) * 1000
    if case.expect == "refusal":
        return _judge_refusal(pool, cell, req, resp, expected_hash, took)
    if cell.access == "forbidden-chunk":
        return _judge_forbidden(pool, cell, req, resp, expected_hash, took)
    if resp["status"] != "ok":
        return Outcome(resp["status"], resp.get("error", ""), duration_ms=took)
    verdict = check(case, expected_hash, resp)
    if verdict.ok:
        return Outcome("pass", duration_ms=took, reader_elapsed_ms=resp.get("elapsed_ms"))
    return Outcome("mismatch", verdict.message, _diagnose(pool, cell, req, resp, expected_hash), took, resp.get("elapsed_ms"))


def _judge_refusal(pool, cell: Cell, req: dict, resp: dict, expected_hash: str, took: float) -> Outcome:
    """The dataset was damaged on purpose (harness/alter.py): the only right answer is a failure. What the
    reader does with the dataset as its writer wrote it (a control read of that, from the same store and in
    the same access mode) comes first: a
    reader that cannot read the intact dataset right gets the outcome of the intact one, so that its failing
    says nothing about the damage, nor its accepting (the findings about the intact dataset then hold)."""
    if resp["status"] not in ("ok", "error", "unsupported"):
        return Outcome(resp["status"], resp.get("error", ""), duration_ms=took)
    pristine = cell.dataset.pristine
    control_note = ""
    if pristine is None:
        control_note = " (no control read: the intact dataset is not kept)"
    else:
        from .publish import intact_key

        target = cell.store.target(pristine, intact_key(cell.dataset), cell.access)
        try:
            control = pool.call(cell.reader.id, {**req, "target": target})
        except WorkerError as exc:
            return Outcome(exc.outcome, f"the control read of the intact dataset failed: {exc}", duration_ms=took)
        if control.get("status") != "ok":
            wrong = (control.get("status"), control.get("error", ""))
        else:
            verdict = check(cell.dataset.case, expected_hash, control)
            wrong = None if verdict.ok else ("mismatch", verdict.message)
        if wrong:
            return Outcome(wrong[0], "the dataset as its writer wrote it (before the damage) does not read right "
                           f"either, so this cell says nothing about the damage: {wrong[1]}", duration_ms=took)
    if resp["status"] != "ok":  # an unknown codec is rightly `unsupported`
        return Outcome("pass", f"refused the corrupt dataset: {resp['status']}: {resp.get('error', '')}{control_note}",
                       duration_ms=took)
    if resp.get("hash") == expected_hash:
        what = "the data equal the reference: the damage went unnoticed"
    else:
        what = _diagnose(pool, cell, req, resp, expected_hash)
    return Outcome("mismatch", "returned data from a dataset damaged on purpose: "
                   + "; ".join(a["kind"] for a in cell.dataset.case.alterations) + control_note,
                   f"accepted corrupt data ({what})", took, resp.get("elapsed_ms"))


def _judge_forbidden(pool, cell: Cell, req: dict, resp: dict, expected_hash: str, took: float) -> Outcome:
    """One existing chunk is denied: the only right answer is a failure, and only a failure
    the reader does not also have when nothing is denied (a control read in `anonymous`)."""
    if resp["status"] == "error":
        if "anonymous" not in cell.store.access_modes:
            return Outcome("pass", f"failed as it must (no anonymous control read): {resp.get('error', '')}",
                           duration_ms=took)
        control_req = {**req, "target": cell.store.target(cell.dataset.path, cell.key, "anonymous")}
        try:
            control = pool.call(cell.reader.id, control_req)
        except WorkerError as exc:
            return Outcome(exc.outcome, f"the anonymous control read failed: {exc}", duration_ms=took)
        if control.get("status") == "ok" and control.get("hash") == expected_hash:
            return Outcome("pass", f"failed as it must on the denied chunk: {resp.get('error', '')}", duration_ms=took)
        return Outcome(control.get("status") if control.get("status") != "ok" else "mismatch",
                       "fails in `anonymous` too, so this failure says nothing about the denied chunk: "
                       + (control.get("error") or "the anonymous read returned wrong data"), duration_ms=took)
    if resp["status"] != "ok":
        return Outcome(resp["status"], resp.get("error", ""), duration_ms=took)
    if resp.get("hash") == expected_hash:
        return Outcome("skipped", "not judged: the reader got the right data although a chunk is denied, "
                       "so the store did not enforce the deny (a store problem, not the reader's)", duration_ms=took)
    diagnosis = _diagnose(pool, cell, req, resp, expected_hash)
    return Outcome("mismatch", "returned data although one chunk is denied (a 403 treated as a missing chunk?)",
                   diagnosis, took, resp.get("elapsed_ms"))


def _diagnose(pool: WorkerPool, cell: Cell, req: dict, first: dict, expected_hash: str) -> str:
    case = cell.dataset.case
    if first.get("hash") == expected_hash:
        return "the data are right; only the metadata named in the message differ"
    with tempfile.TemporaryDirectory(prefix="zc-dump-", dir=pool.scratch) as tmp:
        dump = Path(tmp) / "dump.bin"
        try:
            resp = pool.call(cell.reader.id, {**req, "dump": str(dump)})
        except WorkerError as exc:
            return f"no dump for diagnosis: {exc}"
        if resp.get("status") != "ok" or not dump.exists():
            return f"no dump for diagnosis: the second read answered {resp.get('status')}: {resp.get('error', '')}"
        if resp.get("hash") != first.get("hash"):
            return "the reader returned different data on a second read (nondeterministic)"
        return diagnose(case, expected_array(case), dump.read_bytes(), resp)

