"""`zarr-conformance ci`: a development build of one implementation against all the others.

The command an implementer's CI runs (and a person runs locally, the same way):

    zarr-conformance ci --target zarr-python@dev --source ./zarr-python [--profile default]
                        [--overlay my-impl.yaml] [--baseline results.jsonl|URL|run|fresh|none]

1. The matrix of this run is the project's matrix plus, for `NAME@dev`, a dev
   version of NAME made from a released one (`--base`, default the first
   listed) and the `--source` (harness/devbuild.py); or an overlay file that
   adds a new implementation (its adapter command and build) or versions.
2. The target is built first; a build that fails, a bad overlay or an unknown
   target exit with status 2 and the build's own error.
3. Only the cells involving the target run: every implementation reading what
   it writes, it reading what every implementation writes, its own round trip.
4. The outcomes are judged against the findings and compared with a baseline,
   the released version's results: by default read in the same run, or kept
   from an earlier run whose inputs were all the same (`--baseline run`;
   `fresh` always reads them), or a results file, run directory or URL.
5. ci-summary.md lists regressions first (was pass, now not), each with its
   diagnosis and the command that makes its reproducer; then writes that
   regressed, new failures no finding explains, fixed cells (a finding that no
   longer holds) and outcomes that changed class. Exit status 0 when nothing
   is unexpected, 1 otherwise.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .judge import charged_to_reader
from .matrix import DEFAULT_MATRIX, ConfigError, Matrix, did_you_mean, load_matrix
from .results import cell_key, latest_records, load_jsonl


@dataclass
class CiOptions:
    target: str
    source: str | None = None
    base: str | None = None
    overlay: str | None = None
    matrix: str | None = None
    profile: str | None = None
    cases: tuple[str, ...] | None = None
    stores: tuple[str, ...] | None = None
    writers: tuple[str, ...] | None = None  # the others to test against (default: all)
    readers: tuple[str, ...] | None = None
    baseline: str = "run"
    out: str | None = None
    findings: str | None = None
    jobs: int = max(1, os.cpu_count() or 1)
    runner: str = "local"
    quiet: bool = False


# --- the matrix of a ci run ------------------------------------------------------------------------

def _read_yaml(path: Path, what: str) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: the {what} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the {what} must be a mapping")
    return raw


def ci_matrix(opts: CiOptions, out: Path) -> tuple[Path, str, str | None]:
    """Write the run's matrix (the project's plus the target) to out/matrix.yaml: (path, target, base id)."""
    base_path = Path(opts.matrix) if opts.matrix else DEFAULT_MATRIX
    raw = _read_yaml(base_path, "matrix")
    impls = raw.setdefault("implementations", {})
    if opts.overlay:
        overlay = _read_yaml(Path(opts.overlay), "overlay")
        unknown = set(overlay) - {"implementations"}
        if unknown:
            raise ConfigError(f"{opts.overlay}: an overlay adds implementations only; unknown keys "
                              f"{sorted(unknown)}")
        for name, spec in (overlay.get("implementations") or {}).items():
            if name in impls:
                if set(spec) - {"versions"}:
                    raise ConfigError(f"{opts.overlay}: {name} is already in the matrix: an overlay may add "
                                      f"versions to it, nothing else")
                impls[name].setdefault("versions", {}).update(spec.get("versions") or {})
            else:
                impls[name] = spec
    name, _, version = opts.target.partition("@")
    if not version:
        raise ConfigError(f"--target names an implementation at a version, e.g. {name}@dev")
    if name not in impls:
        raise ConfigError(f"unknown target implementation {name!r}" + did_you_mean(name, impls)
                          + " (a new implementation comes with --overlay)")
    versions = impls[name].setdefault("versions", {})
    base_id = None
    if version == "dev" and "dev" not in versions:
        if not opts.source:
            raise ConfigError(f"{opts.target}: give the dev build with --source (a checkout, archive, wheel, jar "
                              "or install prefix)")
        released = [v for v, s in versions.items() if not (s or {}).get("source")]
        base = opts.base or (released[0] if released else None)
        if base not in versions:
            raise ConfigError(f"--base {base!r} is not a version of {name}" + did_you_mean(str(base), versions))
        versions["dev"] = {**(versions[base] or {}), "source": str(Path(opts.source).resolve()), "base": base}
        base_id = f"{name}@{base}"
    elif version not in versions:
        raise ConfigError(f"{name} has no version {version!r}" + did_you_mean(version, versions))
    elif opts.base:
        base_id = f"{name}@{opts.base}"
    try:
        Matrix.model_validate(raw)
    except Exception as exc:  # the validation error names the key; the path names the overlay
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            from .matrix import _format_error

            raise ConfigError("\n".join(_format_error(Path(opts.overlay or base_path), e) for e in exc.errors())) from None
        raise
    out.mkdir(parents=True, exist_ok=True)
    path = out / "matrix.yaml"
    path.write_text("# The matrix of this ci run: the project's matrix and the target.\n"
                    + yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    return path, opts.target, base_id


# --- the baseline -------------------------------------------------------------------------------------

def load_baseline(where: str, out: Path) -> list[dict]:
    """A results file (jsonl, maybe gzipped), a run directory, or a URL of a results file."""
    if where.startswith(("http://", "https://")):
        dest = out / ("baseline.jsonl.gz" if where.endswith(".gz") else "baseline.jsonl")
        try:
            with urllib.request.urlopen(where, timeout=120) as r, open(dest, "wb") as f:
                shutil.copyfileobj(r, f)
        except OSError as exc:
            raise ConfigError(f"cannot fetch the baseline {where}: {exc}") from None
        path = dest
    else:
        path = Path(where)
        if path.is_dir():
            path = path / "results.jsonl"
        if not path.exists():
            raise ConfigError(f"baseline {where}: no such results file")
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return latest_records([json.loads(line) for line in f if line.strip()])
    return latest_records(load_jsonl(path))


class BaselineCache:
    """The released version's cells of a plan, kept from the run that read them.

    With `--baseline run` half of a ci run reads the released version's cells, and those come out
    the same for as long as everything they depend on is the same: the cells themselves (cases by
    digest), the adapters of every implementation in them (their stamps: lock files, sources,
    builds), the stores' versions and the harness's own code. The file is named by a hash of all
    that, so a change to any of it reads the baseline again; only the newest file of a base is kept.
    """

    def __init__(self, plan, target: str, base_id: str, root: Path | None = None):
        from .environments import cache_root

        self.cells = [c for c in plan.cells if target not in (c.writer.id, c.reader.id)]
        self.dir = (root or cache_root()) / "ci-baselines"
        self.base_id = base_id
        self.path = self.dir / f"{_slug(base_id)}-{self._digest(plan)}.json.gz"

    def _digest(self, plan) -> str:
        import hashlib
        from importlib import metadata

        from .environments import _tree_digest, adapter_stamp
        from .matrix import ROOT

        h = hashlib.sha256()
        h.update(json.dumps(sorted([*c.key, c.case.digest] for c in self.cells)).encode())
        ivs = {iv.id: iv for c in self.cells for iv in (c.writer, c.reader)}
        for impl_id in sorted(ivs):
            h.update(f"{impl_id}={adapter_stamp(ivs[impl_id])}".encode())
        m = plan.matrix
        stores = {s: m.stores[s].model_dump(mode="json") for s in plan.stores}
        h.update(json.dumps([stores, m.minio_version, m.fake_gcs_version, metadata.version("moto")],
                            sort_keys=True).encode())
        _tree_digest(h, ROOT / "harness", ("*.py", "*.j2"))  # its code and templates (not the servers' node_modules)
        return h.hexdigest()[:16]

    def load(self) -> tuple[list[dict], list[dict]] | None:
        try:
            with gzip.open(self.path, "rt", encoding="utf-8") as f:
                kept = json.load(f)
        except (OSError, ValueError, EOFError):
            return None
        return kept["results"], kept["writes"]

    def save(self, records: list[dict], writes: list[dict]) -> None:
        keys = {c.key for c in self.cells}
        mine = [r for r in records if cell_key(r) in keys]
        if len(mine) != len(keys) or any(_circumstantial(r) for r in mine):
            return  # an interrupted run, an implementation or store missing, a timeout: read it again next time
        writers = {c.writer.id for c in self.cells}
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob(f"{_slug(self.base_id)}-*.json.gz"):
            old.unlink()
        tmp = self.path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as f:
            json.dump({"base": self.base_id, "results": mine,
                       "writes": [w for w in writes if w["writer"] in writers]}, f)
        tmp.replace(self.path)


def _circumstantial(rec: dict) -> bool:
    """An outcome of this machine at this moment rather than of the libraries."""
    message = rec.get("message") or ""
    return rec["outcome"] == "timeout" or (rec["outcome"] == "skipped" and bool(_UNAVAILABLE.search(message)))


# How run.py and generate.py word a cell skipped for want of an implementation or a store.
_UNAVAILABLE = re.compile(r"\b(reader|writer|store) \S+ not available:")


def _slug(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in text)


# --- comparing --------------------------------------------------------------------------------------

@dataclass
class Comparison:
    target: str
    base: str | None
    cells: list[dict]
    writes: list[dict]
    regressions: list[tuple[dict, dict]] = field(default_factory=list)  # (now, baseline)
    write_regressions: list[dict] = field(default_factory=list)
    new_failures: list[dict] = field(default_factory=list)
    unexplained_before: list[dict] = field(default_factory=list)  # unexpected, as in the baseline
    fixed: list[dict] = field(default_factory=list)
    changed: list[tuple[dict, dict]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.write_regressions or self.new_failures)


def _swap(rec: dict, target: str, base: str) -> tuple:
    w = base if rec["writer"] == target else rec["writer"]
    r = base if rec["reader"] == target else rec["reader"]
    return (w, rec["case"], rec["store"], rec.get("access") or "signed", r)


def compare(target: str, base: str | None, records: list[dict], writes: list[dict],
            baseline: list[dict], baseline_writes: list[dict] | None = None) -> Comparison:
    mine = [r for r in records if target in (r["writer"], r["reader"])]
    cmp = Comparison(target, base, mine, [w for w in writes if w["writer"] == target])
    before = {}
    for r in baseline:
        before[(r["writer"], r["case"], r["store"], r.get("access") or "signed", r["reader"])] = r
    for r in mine:
        old = before.get(_swap(r, target, base)) if base else None
        if old is not None and old["outcome"] == "pass" and r["outcome"] != "pass" and charged_to_reader(r):
            cmp.regressions.append((r, old))
        elif r.get("unexpected") and r["outcome"] == "pass":
            cmp.fixed.append(r)
        elif r.get("unexpected") and old is not None and old["outcome"] == r["outcome"]:
            cmp.unexplained_before.append(r)  # the released version fails it the same way: not this change's
        elif r.get("unexpected"):
            cmp.new_failures.append(r)
        elif old is not None and old["outcome"] not in ("pass", r["outcome"]) and r["outcome"] != "pass":
            cmp.changed.append((r, old))
    before_writes = {(w["writer"], w["case"], w.get("store")): w["status"] for w in baseline_writes or []}
    for w in cmp.writes:
        if not w.get("unexpected"):
            continue
        if before_writes.get((base, w["case"], w.get("store"))) == w["status"]:
            cmp.unexplained_before.append({**w, "reader": "(write)", "store": w.get("store") or "-",
                                           "outcome": w["status"]})
        else:
            cmp.write_regressions.append(w)
    return cmp


def _cell(r: dict) -> str:
    acc = f"[{r['access']}]" if r.get("access") not in (None, "signed") else ""
    return f"{r['writer']}/{r['case']}/{r['store']}/{r['reader']}{acc}"


def _md(text: str, n: int = 240) -> str:
    return (text or "").replace("|", "\\|").replace("\n", " ")[:n]


def summary(cmp: Comparison, hello: dict, source: str | None, run_dir: Path) -> str:
    t = cmp.target
    as_writer = sum(1 for r in cmp.cells if r["writer"] == t)
    as_reader = sum(1 for r in cmp.cells if r["reader"] == t)
    both = sum(1 for r in cmp.cells if r["writer"] == t and r["reader"] == t)
    lines = [f"# zarr-conformance ci: {t}", "",
             f"{t} reports version {hello.get('version', '?')}" + (f", built from `{source}`" if source else "")
             + (f"; baseline: {cmp.base}" if cmp.base else "; no baseline") + ".", "",
             f"{len(cmp.cells)} cells involve it: {as_writer} as writer (everyone reading what it writes), "
             f"{as_reader} as reader, {both} of them its own round trip; {len(cmp.writes)} writes.", ""]
    if not cmp.failed:
        lines += ["**Nothing regressed**: every outcome is as the baseline and the findings say."
                  if cmp.base else "**Nothing unexpected** against the findings.", ""]
    else:
        lines += [f"**{len(cmp.regressions)} regressions, {len(cmp.write_regressions)} writes unexpected, "
                  f"{len(cmp.new_failures)} new failures without a finding**", ""]

    def table(title, rows, with_before=False):
        if not rows:
            return []
        out = [f"## {title}", "", "| direction | cell | now | " + ("before | " if with_before else "")
               + "diagnosis or message | reproducer |", "|---" * (6 if with_before else 5) + "|"]
        for item in rows[:150]:
            r, old = item if with_before else (item, None)
            direction = "round trip" if r["writer"] == r["reader"] == t else ("as writer" if r["writer"] == t else "as reader")
            repro = f"`zarr-conformance repro '{_cell(r)}' --run {run_dir}`"
            out.append(f"| {direction} | `{_cell(r)}` | {r['outcome']} | " + (f"{old['outcome']} | " if with_before else "")
                       + f"{_md(r.get('diagnosis') or r.get('message'))} | {repro} |")
        if len(rows) > 150:
            out.append(f"| ... {len(rows) - 150} more | | | | |")
        return out + [""]

    lines += table("Regressions: passed in the baseline, now not", cmp.regressions, with_before=True)
    if cmp.write_regressions:
        lines += ["## Writes no finding explains", "", "| case | outcome | message |", "|---|---|---|"]
        lines += [f"| `{w['case']}` | {w['status']} | {_md(w.get('message'))} |" for w in cmp.write_regressions[:150]]
        lines.append("")
    lines += table("New failures no finding explains", cmp.new_failures)
    if cmp.fixed:
        ids = sorted({r.get("finding") or "" for r in cmp.fixed} - {""})
        lines += ["## Fixed: cells that pass where a finding predicts a failure", "",
                  f"{len(cmp.fixed)} cells" + (f"; this fixes {', '.join(f'`{i}`' for i in ids)}" if ids else ""), ""]
        lines += [f"- `{_cell(r)}`" for r in cmp.fixed[:50]] + [""]
    lines += table("Changed class (failing before and now, differently)", cmp.changed, with_before=True)
    if cmp.unexplained_before:
        lines += ["## Failing as in the baseline, without a finding", "",
                  f"{len(cmp.unexplained_before)} cells fail the same way for {cmp.base}; they need a finding "
                  "(not this change's doing)", ""] + [f"- `{_cell(r)}`: {r['outcome']}" for r in cmp.unexplained_before[:30]] + [""]
    return "\n".join(lines) + "\n"


def annotations(cmp: Comparison) -> list[str]:
    """GitHub workflow commands: one error per regression (at most 50, as GitHub shows)."""
    out = []
    for r, old in cmp.regressions[:50]:
        out.append(f"::error title=zarr-conformance regression::{_cell(r)}: {old['outcome']} -> {r['outcome']}: "
                   f"{_md(r.get('diagnosis') or r.get('message'), 300)}")
    for r in cmp.new_failures[:50]:
        out.append(f"::warning title=zarr-conformance new failure::{_cell(r)}: {r['outcome']}: "
                   f"{_md(r.get('diagnosis') or r.get('message'), 300)}")
    return out


# --- the command -----------------------------------------------------------------------------------------

def ci(opts: CiOptions) -> int:
    from .artifacts import default_out, load_run
    from .environments import NotAvailable, setup
    from .judge import rejudge
    from .plan import Selection, make_plan
    from .run import RunOptions, Session

    out = Path(opts.out) if opts.out else default_out()
    matrix_path, target, base_id = ci_matrix(opts, out)
    m = load_matrix(matrix_path)
    target_iv = next(iv for iv in m.impl_versions() if iv.id == target)
    print(f"building {target} ...", file=sys.stderr)
    try:
        setup(target_iv, log=lambda msg: print(msg, file=sys.stderr))
    except NotAvailable as exc:
        print(f"zarr-conformance ci: the target {target} does not build: {exc}", file=sys.stderr)
        return 2
    in_run = opts.baseline in ("run", "fresh")  # the released version's cells are read here (fresh: not kept ones)
    involving = (target,) + ((base_id,) if in_run and base_id else ())

    def with_targets(names):  # narrowing the others never drops the target (or its baseline)
        return None if not names else tuple(dict.fromkeys([*names, *involving]))

    sel = Selection(matrix=str(matrix_path), profile=opts.profile, cases=opts.cases, stores=opts.stores,
                    writers=with_targets(opts.writers), readers=with_targets(opts.readers), involving=involving)
    plan = make_plan(sel)
    cached = None
    if in_run and base_id:
        cache = BaselineCache(plan, target, base_id)
        cached = cache.load() if opts.baseline == "run" else None
        if cached:
            print(f"the baseline ({len(cached[0])} cells of {base_id}) is kept from a run with the same inputs: "
                  f"{cache.path.name}", file=sys.stderr)
            plan.keep([c for c in plan.cells if target in (c.writer.id, c.reader.id)])
    session = Session(RunOptions(selection=sel, jobs=opts.jobs, out=str(out), findings=opts.findings,
                                 quiet=opts.quiet, runner=opts.runner), plan=plan)
    try:
        session.prepare()
        if target in session.adapters.not_available:
            print(f"zarr-conformance ci: the target {target} does not start: "
                  f"{session.adapters.not_available[target]}", file=sys.stderr)
            return 2
        session.read_all()
    finally:
        session.close()
        session.finish()
    records, writes, _ = load_run(out)
    if in_run and base_id and not cached:
        cache.save(records, writes)
    if cached:
        records, writes = records + cached[0], writes + cached[1]
    records, writes = rejudge(records, writes, session.findings)
    baseline_writes = None
    if in_run:
        baseline = [r for r in records if base_id in (r["writer"], r["reader"])] if base_id else []
        baseline_writes = writes
    elif opts.baseline == "none":
        baseline = []
    else:
        baseline = load_baseline(opts.baseline, out)
        if Path(opts.baseline).is_dir() and (Path(opts.baseline) / "writes.jsonl").exists():
            baseline_writes = load_jsonl(Path(opts.baseline) / "writes.jsonl")
    cmp = compare(target, base_id, records, writes, baseline, baseline_writes)
    text = summary(cmp, session.adapters.hello_of(target_iv), opts.source, out)
    (out / "ci-summary.md").write_text(text, encoding="utf-8")
    (out / "ci.json").write_text(json.dumps({
        "target": target, "base": base_id, "version": session.adapters.version_of(target_iv),
        "cells": len(cmp.cells), "regressions": [_cell(r) for r, _ in cmp.regressions],
        "unexpected_writes": [w["case"] for w in cmp.write_regressions],
        "new_failures": [_cell(r) for r in cmp.new_failures], "fixed": [_cell(r) for r in cmp.fixed],
        "changed": [_cell(r) for r, _ in cmp.changed], "exit": 1 if cmp.failed else 0}, indent=1))
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        with open(summary_file, "a", encoding="utf-8") as f:
            f.write(text)
    if os.environ.get("GITHUB_ACTIONS"):
        for line in annotations(cmp):
            print(line)
    print(text if not opts.quiet else text.splitlines()[0])
    print(f"run directory: {out} (ci-summary.md, report.html, junit.xml)", file=sys.stderr)
    return 1 if cmp.failed else 0
