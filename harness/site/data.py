"""The site's data files: what other tools consume (docs/site-data.md), and what the pages load.

- data/index.json            the site: schema versions, runs, the latest run, the files of each run
- data/runs.json             history: every run, with its provenance and per-implementation counts
- data/findings.json         every finding, with the cells it explains in the latest run
- data/runs/<id>/run.json    the run's provenance (its run.json)
- data/runs/<id>/cells.json  every cell, judged, as a dictionary-encoded table (below)
- data/runs/<id>/cells.parquet  the same cells as a Parquet file (one row per cell)
- data/runs/<id>/writes.json what each writer did with each case
- data/runs/<id>/diff.json   what changed since the previous run
- data/grid/<id>/<format>__<store>__<access>.js  the cell grid's chunks (scripts, so file:// works)

A table (cells.json, writes.json) is {"schema", "run", "count", "columns", "dictionaries", "rows"}:
each row is a list with one value per column; a column named in "dictionaries" holds an index into
its dictionary, every other column holds the value itself.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

SCHEMAS = {
    "index": "zarr-conformance/site-index@1",
    "runs": "zarr-conformance/runs@1",
    "findings": "zarr-conformance/findings@1",
    "cells": "zarr-conformance/cells@1",
    "writes": "zarr-conformance/writes@1",
    "diff": "zarr-conformance/diff@1",
    "grid": "zarr-conformance/grid-chunk@1",
}

CELL_COLUMNS = ["writer", "writer_version", "case", "format", "store", "access", "write_mode", "reader",
                "reader_version", "outcome", "attempts", "message", "diagnosis", "dataset_fault", "store_fault",
                "duration_ms", "reader_elapsed_ms", "expected", "unexpected", "finding", "label"]
WRITE_COLUMNS = ["writer", "writer_version", "case", "format", "store", "status", "message", "faults", "cached",
                 "duration_ms", "dataset", "expected", "unexpected", "finding", "label"]
PLAIN = (int, float, bool, type(None))

# The grid's outcome codes: one letter per cell, upper case when the outcome is unexpected.
CODES = {"pass": "p", "mismatch": "m", "error": "e", "unsupported": "u", "timeout": "t", "crash": "c", "flaky": "f",
         "skipped": "s"}


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def encode_table(rows: list[dict], columns: list[str], schema: str, run_id: str) -> dict:
    cols = list(columns) + sorted({k for r in rows for k in r} - set(columns) - {"fault_finding"})
    dictionaries: dict[str, list] = {}
    for c in cols:
        values = [r.get(c) for r in rows]
        if all(isinstance(v, PLAIN) for v in values):
            continue
        seen: dict[str, int] = {}
        table: list = []
        for v in values:
            k = json.dumps(v, sort_keys=True)
            if k not in seen:
                seen[k] = len(table)
                table.append(v)
        dictionaries[c] = table
    index = {c: {json.dumps(v, sort_keys=True): i for i, v in enumerate(t)} for c, t in dictionaries.items()}
    out_rows = []
    for r in rows:
        out_rows.append([index[c][json.dumps(r.get(c), sort_keys=True)] if c in index else r.get(c) for c in cols])
    return {"schema": schema, "run": run_id, "count": len(rows), "columns": cols, "dictionaries": dictionaries,
            "rows": out_rows}


def decode_table(table: dict) -> list[dict]:
    cols, dicts = table["columns"], table.get("dictionaries") or {}
    out = []
    for row in table["rows"]:
        out.append({c: (dicts[c][v] if c in dicts else v) for c, v in zip(cols, row)})
    return out


def write_json(path: Path, obj) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = dumps(obj)
    path.write_text(text, encoding="utf-8")
    return len(text.encode())


def write_parquet(path: Path, records: list[dict], run_id: str) -> None:
    """The cells as Parquet: strings dictionary-encoded, lists as lists of strings, zstd-compressed."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def text(c):
        return pa.array([("" if r.get(c) is None else str(r.get(c))) for r in records], pa.string()).dictionary_encode()

    def textlist(c):
        vals = []
        for r in records:
            v = r.get(c)
            vals.append(None if v is None else ([v] if isinstance(v, str) else [str(x) for x in v]))
        return pa.array(vals, pa.list_(pa.string()))

    def number(c):
        return pa.array([r.get(c) if isinstance(r.get(c), (int, float)) and not isinstance(r.get(c), bool) else None
                         for r in records], pa.float64())

    arrays = {}
    for c in CELL_COLUMNS:
        if c in ("attempts", "expected"):
            arrays[c] = textlist(c)
        elif c in ("duration_ms", "reader_elapsed_ms"):
            arrays[c] = number(c)
        elif c == "unexpected":
            arrays[c] = pa.array([bool(r.get(c)) for r in records], pa.bool_())
        else:
            arrays[c] = text(c)
    table = pa.table(arrays)
    meta = {b"zarr-conformance.schema": SCHEMAS["cells"].encode(), b"zarr-conformance.run": run_id.encode()}
    table = table.replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")


def grid_chunks(run, findings) -> tuple[list[dict], dict[str, str]]:
    """The grid's data, one chunk per (format, store, access mode): rows are (case, writer), columns the
    readers, a letter per cell (CODES; upper case = unexpected, '.' = no such cell); what a cell's detail
    panel shows is kept only for the cells that have something to say. Returns the chunks' descriptions
    and their scripts by file name."""
    groups: dict[tuple, list[dict]] = {}
    for r in run.records:
        groups.setdefault((r["format"], r["store"], r.get("access") or "signed"), []).append(r)
    from .model import store_order

    meta, files = [], {}
    fmt_order = {"zarr2": 0, "zarr3": 1, "n5": 2}
    for (fmt, store, access), recs in sorted(groups.items(), key=lambda kv: (fmt_order.get(kv[0][0], 9), kv[0][0],
                                                                             store_order((kv[0][1], kv[0][2])))):
        readers = sorted({r["reader"] for r in recs})
        rcol = {rd: i for i, rd in enumerate(readers)}
        strings: list[str] = [""]
        sidx = {"": 0}

        def s(v) -> int:
            v = "" if v is None else (v if isinstance(v, str) else dumps(v))
            if v not in sidx:
                sidx[v] = len(strings)
                strings.append(v)
            return sidx[v]

        rows: dict[tuple, list] = {}
        details: dict[str, list] = {}
        for r in recs:
            key = (r["case"], r["writer"])
            row = rows.setdefault(key, ["."] * len(readers))
            code = CODES.get(r["outcome"], "e")
            row[rcol[r["reader"]]] = code.upper() if r.get("unexpected") else code
        order = sorted(rows)
        ridx = {k: i for i, k in enumerate(order)}
        for r in recs:
            expected = r.get("expected") or ["pass"]
            default_expected = expected == ["pass"] or (r["outcome"] == "skipped" and expected == ["skipped"])
            d = [s(r.get("message")), s(r.get("diagnosis")), s(r.get("finding")),
                 s(",".join(r["attempts"]) if r.get("attempts") else ""),
                 s("" if default_expected else " or ".join(expected)), s(r.get("label")),
                 s(r.get("dataset_fault") or r.get("store_fault"))]
            if any(d):
                details[f"{ridx[(r['case'], r['writer'])]}:{rcol[r['reader']]}"] = d
        cases = sorted({k[0] for k in order})
        writers = sorted({k[1] for k in order})
        cidx, widx = {c: i for i, c in enumerate(cases)}, {w: i for i, w in enumerate(writers)}
        chunk = {"schema": SCHEMAS["grid"], "run": run.id, "format": fmt, "store": store, "access": access,
                 "readers": readers, "writers": writers, "cases": cases, "strings": strings,
                 "rows": [[cidx[c], widx[w], "".join(rows[(c, w)])] for c, w in order], "details": details}
        name = f"{fmt}__{store}__{access}.js"
        files[name] = f"ZC.chunk({dumps(chunk)});\n"
        c = Counter(r["outcome"] for r in recs)
        meta.append({"file": name, "format": fmt, "store": store, "access": access, "cells": len(recs),
                     "rows": len(order), "counts": dict(c), "bytes": len(files[name].encode())})
    return meta, files
