"""Reproducers: a small bundle that shows one finding (or one cell) without the harness.

`zarr-conformance repro FINDING-or-CELL` writes, from a run:

- dataset/       the dataset the cell read (a copy from the dataset cache);
- a script in the reader's own language that opens the array with the library
  alone, the way its users do, and compares shape, dtype, fill value and the
  values at a few indices (the first differing one among them) with what the
  case holds; it prints `DEFECT: ...` and exits 1 when the library gets it
  wrong or raises, `OK: ...` and exits 0 when it does not;
- run.sh         how to run it here (the implementation's pinned environment);
- expected.json  the case, the expected shape, dtype, fill value, attributes,
                 hash and values, and what the run observed;
- versions.json  the versions of the reader, the writer and their components;
- README.md      what it shows and how to file it upstream.

Each implementation names its script template in matrix.yaml (`repro`); the
Python backends share readers/python/repro/<backend>.py.j2. A finding about a
writer's faulty dataset gets a language-neutral check of the metadata instead.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from zc_canonical import canonical_hash, fill_to_json

from .artifacts import load_run
from .cases import Case, catalogue
from .environments import cache_root, env_dir, tools_root
from .findings import Findings
from .judge import rejudge
from .matrix import ROOT, ConfigError, ImplVersion, load_matrix
from .reference import reference_array, region_slices

MAX_CHECKS = 6
TIMEOUT = 900  # seconds for --execute (a first Rust or Java build takes a while)


def _parse_cell(text: str) -> dict | None:
    """writer/case.../store/reader[access] -> its key fields (case ids contain slashes)."""
    m = re.match(r"^(?P<body>.+?)(\[(?P<access>[^\]]+)\])?$", text)
    parts = m.group("body").split("/")
    if len(parts) < 4:
        return None
    return {"writer": parts[0], "case": "/".join(parts[1:-2]), "store": parts[-2], "reader": parts[-1],
            "access": m.group("access") or "signed"}


def _case_size(case_id: str) -> int:
    """Elements of a case's array: the smallest case makes the shortest reproducer."""
    case = catalogue().get(case_id)
    return int(np.prod(case.shape or (1,))) if case is not None else 0


def _case_of(case_id: str) -> Case:
    case = catalogue().get(case_id)
    if case is None:
        raise ConfigError(f"case {case_id} is not in the catalogue any more")
    return case


def _empty_dir(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


def pick(records: list[dict], what: str, findings: Findings) -> dict:
    """The record a reproducer is made of: the cell named, or the simplest cell of the finding."""
    cell = _parse_cell(what) if "/" in what else None
    if cell:
        for r in records:
            if all((r.get(k) or ("signed" if k == "access" else "")) == v for k, v in cell.items()):
                return r
        raise ConfigError(f"no cell {what} in this run")
    if what not in findings.by_id:
        from .matrix import did_you_mean

        raise ConfigError(f"{what!r} is neither a finding nor a cell writer/case/store/reader"
                          + did_you_mean(what, findings.by_id))
    mine = [r for r in records if r.get("finding") == what]
    if not mine:
        raise ConfigError(f"finding {what} explains no cell of this run: run the cells it names first")
    # Local and signed first (nothing but the library and a directory), then the smallest case.
    return min(mine, key=lambda r: (r["store"] != "local", r.get("access", "signed") != "signed",
                                    _case_size(r["case"]),
                                    r["case"], r["writer"]))


def _json_value(v, dtype: str):
    if dtype.startswith("S"):
        import base64

        return base64.b64encode(bytes(v)).decode()
    if dtype in ("string",) or dtype.startswith("U"):
        return str(v)
    return fill_to_json(v, dtype)


def check_points(case: Case, diagnosis: str) -> list[dict]:
    """Indices worth comparing: the first differing one named by the diagnosis, the corners, the middle."""
    ref = reference_array(case)
    points: list[tuple[int, ...]] = []
    m = re.search(r"first at index \[([0-9, ]*)\]", diagnosis or "")
    if m and ref.ndim:
        idx = tuple(int(x) for x in m.group(1).split(",") if x.strip())
        if len(idx) == ref.ndim:
            points.append(idx)
    if ref.ndim == 0:
        points.append(())
    else:
        points += [tuple(0 for _ in ref.shape), tuple(s - 1 for s in ref.shape), tuple(s // 2 for s in ref.shape)]
        # one element in a partial edge chunk, where edge bugs live
        points.append(tuple(s - 1 - (s % c) // 2 if s % c else s - 1 for s, c in zip(case.shape, case.chunks)))
        flat = ref.reshape(-1)
        for i in np.linspace(0, flat.size - 1, num=min(3, flat.size)).astype(int)[1:]:
            points.append(tuple(int(x) for x in np.unravel_index(i, ref.shape)))
    out, seen = [], set()
    for p in points:
        if p not in seen:
            seen.add(p)
            out.append({"index": list(p), "value": _json_value(ref[p], case.dtype)})
    return out[:MAX_CHECKS]


def _template_env(root: Path) -> Environment:
    env = Environment(loader=FileSystemLoader(str(root)), undefined=StrictUndefined, keep_trailing_newline=True)
    env.filters["tojson"] = lambda v: json.dumps(v, ensure_ascii=False)
    return env


def _expand(text: str, iv: ImplVersion, bundle: Path) -> str:
    env = env_dir(iv)
    return (text.replace("{root}", str(ROOT)).replace("{bundle}", str(bundle)).replace("{env}", str(env))
            .replace("{cache}", str(cache_root())).replace("{tools}", str(tools_root())).replace("{version}", iv.version))


def repro_spec(iv: ImplVersion) -> tuple[Path, list[str], dict[str, str]] | None:
    """The template (file or directory), run command and environment of an implementation's reproducer."""
    spec = iv.repro
    if spec is not None:
        return ROOT / spec.template, list(spec.run), dict(spec.env)
    if iv.adapter == "python" and iv.spec.backend:
        template = ROOT / "readers" / "python" / "repro" / f"{iv.spec.backend}.py.j2"
        if template.exists():
            return template, ["{env}/bin/python", "{bundle}/repro.py"], {}
    return None


def _render(template: Path, bundle: Path, context: dict, script: str | None = None) -> None:
    """Render a template file (as `script` when given) or a directory of them into the bundle."""
    files = [template] if template.is_file() else sorted(p for p in template.rglob("*") if p.is_file())
    base = template.parent if template.is_file() else template
    env = _template_env(base)
    for f in files:
        rel = f.relative_to(base)
        out = bundle / (script if script and template.is_file() else
                        str(rel)[:-3] if rel.name.endswith(".j2") else str(rel))
        out.parent.mkdir(parents=True, exist_ok=True)
        if f.name.endswith(".j2"):
            out.write_text(env.get_template(rel.as_posix()).render(**context), encoding="utf-8")
        else:
            shutil.copyfile(f, out)


def _write_run_sh(bundle: Path, cmd: list[str], env: dict[str, str]) -> Path:
    lines = ["#!/usr/bin/env bash", "# Runs the reproducer with the implementation's pinned environment.",
             "set -u", 'cd "$(dirname "$0")"']
    lines += [f"export {k}={json.dumps(v)}" for k, v in env.items()]
    lines.append(" ".join(json.dumps(c) if " " in c else c for c in cmd) + ' "$@"')
    path = bundle / "run.sh"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def build_bundle(rec: dict, writes: list[dict], info: dict, findings: Findings, out: Path,
                 matrix_path=None) -> Path:
    m = load_matrix(matrix_path)
    case = _case_of(rec["case"])
    write = next((w for w in writes if w["writer"] == rec["writer"] and w["case"] == rec["case"] and w.get("dataset")), None)
    if write is None:
        raise ConfigError(f"the run did not record where {rec['writer']} wrote {rec['case']} (a run of an older harness?)")
    dataset = cache_root() / "datasets" / write["dataset"]
    if not dataset.is_dir():
        raise ConfigError(f"{dataset}: the dataset is no longer in the cache; run the cell again")
    finding = findings.by_id.get(rec.get("finding") or "")
    _empty_dir(out)
    shutil.copytree(dataset, out / "dataset", symlinks=False)
    ref = reference_array(case)
    expected = {
        "case": case.to_json(), "format": case.format, "path": case.path,
        "shape": list(case.shape), "dtype": case.dtype, "fill_value": case.fill_value,
        "attributes": case.attributes, "hash": canonical_hash(ref, case.dtype),
        "checks": check_points(case, rec.get("diagnosis") or ""),
        # A partial-read case: the run read only this region (its hash below); the reproducer reads the whole array.
        **({"region": case.region_json, "region_hash": canonical_hash(ref[region_slices(case.region)], case.dtype)}
           if case.region else {}),
        "observed": {k: rec.get(k) for k in ("outcome", "message", "diagnosis", "store", "access", "attempts")},
        "finding": finding.model_dump(exclude={"cells"}) if finding else None,
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False))
    impls = info.get("implementations") or {}
    versions = {role: {"id": rec[role], "version": rec.get(f"{role}_version"),
                       "components": (impls.get(rec[role]) or {}).get("components", {})}
                for role in ("reader", "writer")}
    (out / "versions.json").write_text(json.dumps(versions, indent=1, ensure_ascii=False))
    dataset_fault = rec.get("label") == "faulty-dataset"
    reader = next((iv for iv in m.impl_versions() if iv.id == rec["reader"]), None)
    spec = None if dataset_fault or reader is None else repro_spec(reader)
    context = {"expected": expected, "case": case.to_json(), "array_path": case.path, "format": case.format,
               "reader": versions["reader"], "writer": versions["writer"], "finding": expected["finding"]}
    if dataset_fault:
        _render(ROOT / "harness" / "templates" / "repro" / "faulty_dataset.py.j2", out, context)
        shutil.copyfile(Path(__file__).with_name("dataset_check.py"), out / "dataset_check.py")
        run_sh = _write_run_sh(out, ["python3", "faulty_dataset.py"], {})
        script = "faulty_dataset.py (checks the writer's metadata against the case)"
    elif spec is None:
        raise ConfigError(f"{rec['reader']} has no reproducer template (matrix.yaml `repro`)")
    else:
        template, cmd, env = spec
        # The Python backends' templates (readers/python/repro/<backend>.py.j2) run as repro.py: named
        # after the backend, tensorstore.py or z5py.py would shadow the library it imports.
        python_default = reader.adapter == "python" and reader.repro is None
        _render(template, out, context, script="repro.py" if python_default else None)
        run_sh = _write_run_sh(out, [_expand(c, reader, out) for c in cmd], {k: _expand(v, reader, out) for k, v in env.items()})
        script = ", ".join(sorted(p.name for p in out.iterdir() if p.is_file() and p.name not in
                                  ("expected.json", "versions.json", "run.sh", "README.md")))
    readme = [f"# Reproducer: {finding.title if finding else rec['case']}", "",
              f"- cell: `{rec['writer']}/{rec['case']}/{rec['store']}/{rec['reader']}`"
              + (f" (access {rec['access']})" if rec.get("access") not in (None, "signed") else ""),
              f"- observed: **{rec['outcome']}**: {rec.get('message') or ''} {rec.get('diagnosis') or ''}".rstrip(),
              f"- reader: {rec['reader']} (version {versions['reader']['version']}); writer: {rec['writer']} "
              f"(version {versions['writer']['version']})"]
    if finding:
        readme += [f"- finding `{finding.id}` ({finding.severity}): {finding.upstream}"]
        if finding.error:
            readme += ["", "The library's own text:", "", "```", finding.error, "```"]
    readme += ["", f"`dataset/` holds the array at `{case.path or '(the root)'}` ({case.format}); `expected.json` what it",
               "must read as (the values at a few indices among them).", "",
               f"Run `./run.sh` (it uses {script}). It prints `DEFECT: ...` and exits 1 while the defect is there,",
               "`OK: ...` and exits 0 once it is fixed."]
    if rec["store"] != "local":
        readme += ["", f"The run read this cell from the store `{rec['store']}`: the script reads the local copy. "
                   "Where the defect needs the store (access modes, HTTP), serve `dataset/` the same way "
                   f"(`zarr-conformance run --stores {rec['store'].split('+')[0]} --cases '{rec['case']}' --readers {rec['reader']}`)."]
    (out / "README.md").write_text("\n".join(readme) + "\n", encoding="utf-8")
    return run_sh


def pick_write(writes: list[dict], what: str, findings: Findings) -> dict | None:
    """The write a reproducer is made of, when `what` is about writing: a finding that explains
    writes (its simplest write), or a write named WRITER/CASE. None: `what` is about reads."""
    for w in writes:
        if what == f"{w['writer']}/{w['case']}":
            return w
    finding = findings.by_id.get(what)
    if finding is None or finding.explains != "writes":
        return None
    mine = [w for w in writes if w.get("finding") == what]
    if not mine:
        raise ConfigError(f"finding {what} explains no write of this run: run the writes it names first")
    return min(mine, key=lambda w: (_case_size(w["case"]),
                                    w["case"], w["writer"]))


def build_write_bundle(write: dict, findings: Findings, out: Path, matrix_path=None) -> Path:
    """A bundle that has the writer write the case again, through its adapter's one-shot command, and
    checks what it wrote: the writer's side has no reader whose script could show it."""
    from .environments import setup
    from .reference import ReferenceStore

    m = load_matrix(matrix_path)
    case = _case_of(write["case"])
    writer = next((iv for iv in m.impl_versions() if iv.id == write["writer"]), None)
    if writer is None:
        raise ConfigError(f"{write['writer']} is not in the matrix any more")
    env = setup(writer, log=lambda *_: None)
    finding = findings.by_id.get(write.get("finding") or "")
    _empty_dir(out)
    (out / "case.json").write_text(json.dumps(case.to_json(), indent=1, ensure_ascii=False))
    shutil.copyfile(ReferenceStore(cache_root() / "reference").ensure(case), out / "data.bin")
    expected = {"case": case.to_json(), "observed": {k: write.get(k) for k in ("status", "message", "faults")},
                "finding": finding.model_dump(exclude={"cells"}) if finding else None}
    (out / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False))
    writer_info = {"id": writer.id, "version": write.get("writer_version") or writer.version}
    _render(ROOT / "harness" / "templates" / "repro" / "write.py.j2", out,
            {"writer": writer_info, "finding": expected["finding"], "case": case.to_json()})
    shutil.copyfile(Path(__file__).with_name("dataset_check.py"), out / "dataset_check.py")
    run_sh = _write_run_sh(out, ["python3", "write.py", *env.command], env.env)
    readme = [f"# Reproducer: {finding.title if finding else write['writer'] + ' writing ' + case.id}", "",
              f"- write: `{write['writer']}` writing `{case.id}` ({case.format})",
              f"- observed: **{write['status']}**: {write.get('message') or ''}".rstrip()]
    if write.get("faults"):
        readme += [f"  - {f}" for f in write["faults"]]
    if finding:
        readme += [f"- finding `{finding.id}` ({finding.severity}): {finding.upstream}"]
    readme += ["", "`case.json` is the case the writer gets, `data.bin` its values (raw element bytes).",
               "Run `./run.sh`: it has the writer's adapter write `dataset/` through its one-shot command line,",
               "then checks the metadata (`dataset_check.py`). It prints `DEFECT: ...` and exits 1 while the",
               "defect is there, `OK: ...` and exits 0 once it is fixed."]
    (out / "README.md").write_text("\n".join(readme) + "\n", encoding="utf-8")
    return run_sh


def repro(what: str, run_dir: Path, findings: Findings, out: str | None, execute: bool = False,
          matrix_path=None) -> int:
    records, writes, info = load_run(run_dir)
    records, writes = rejudge(records, writes, findings)
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", what)
    bundle = Path(out) if out else run_dir / "repro" / name
    write = pick_write(writes, what, findings)
    if write is not None:
        run_sh = build_write_bundle(write, findings, bundle, matrix_path)
    else:
        run_sh = build_bundle(pick(records, what, findings), writes, info, findings, bundle, matrix_path)
    print(f"reproducer written to {bundle} (run {run_sh.name} there)")
    if not execute:
        return 0
    code, text = execute_bundle(bundle)
    print(text)
    return 0 if code == 1 and "DEFECT:" in text else 1


def execute_bundle(bundle: Path, timeout: float = TIMEOUT) -> tuple[int, str]:
    """Run a bundle's run.sh: (exit status, stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    proc = subprocess.run(["bash", str(bundle / "run.sh")], capture_output=True, text=True, timeout=timeout,
                          cwd=bundle, env=env)
    return proc.returncode, (proc.stdout + proc.stderr).strip()
