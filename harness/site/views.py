"""What each page shows, computed from judged runs (the templates only lay it out)."""

from __future__ import annotations

from collections import Counter, defaultdict

from ..cases import catalogue, store_sensitive
from ..findings import SEVERITIES, SEVERITY_TEXT, Findings
from ..judge import charged_to_reader
from .model import Run, judged, name_of, share_text, store_label, store_order, version_of

FORMAT_TEXT = {"zarr2": "Zarr v2", "zarr3": "Zarr v3", "n5": "N5"}
MARKS = {"pass": "✓", "mismatch": "≠", "error": "E", "unsupported": "U", "timeout": "T", "crash": "C", "flaky": "~",
         "skipped": "–"}
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}

# Case features by kind, in the order a data provider asks about them.
FEATURE_KINDS = [
    ("codec", "Codecs and compressors"),
    ("filter", "Filters (v2)"),
    ("endian", "Byte order"),
    ("sharding", "Sharding (v3)"),
    ("dtype", "Data types"),
    ("order", "Memory order (v2)"),
    ("separator", "Dimension separator (v2)"),
    ("chunk-keys", "Chunk key encoding (v3)"),
    ("layout", "Shapes and chunking"),
    ("missing-chunks", "Missing chunks"),
    ("fill", "Fill values"),
    ("groups", "Groups"),
    ("attributes", "Attributes"),
    ("root-array", "An array as the dataset root"),
    ("key-escaping", "Names that need escaping"),
    ("dimension-names", "Dimension names (v3)"),
]
FEATURE_TEXT = {
    "sharding": "sharding_indexed (shards of inner chunks, read with range requests)",
    "sharding:nested": "nested sharding (shards of shards)",
    "missing-chunks": "chunks left out: must read as the fill value",
    "groups": "an array inside nested groups",
    "attributes": "attributes (unicode, nesting, integers beyond 2^53)",
    "root-array": "the array is the dataset root, with no group above it",
    "key-escaping": "node names with a space, '+' and non-ASCII letters",
    "dimension-names": "dimension_names, one of them null",
    "order:F": "F (column-major) order in the chunks",
    "separator:/": "dimension_separator '/' (nested chunk keys)",
    "endian:big": "big-endian bytes codec",
    "chunk-keys:default.": "default chunk keys with separator '.'",
    "chunk-keys:v2.": "v2 chunk keys with separator '.'",
    "chunk-keys:v2/": "v2 chunk keys with separator '/'",
    "codec:raw": "no compression",
}


def feature_kind(feature: str) -> str:
    return feature.split(":")[0]


def feature_sort_key(feature: str):
    kinds = [k for k, _ in FEATURE_KINDS]
    kind = feature_kind(feature)
    return (kinds.index(kind) if kind in kinds else len(kinds), feature)


def case_features(case_id: str) -> tuple[str, ...]:
    c = catalogue().get(case_id)
    return c.features if c else ()


# --- codec parameters ---------------------------------------------------------------------

def _conf_text(conf: dict) -> str:
    return ", ".join(f"{k}={_value(v)}" for k, v in conf.items())


def _value(v) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    return str(v)


def v3_codec_text(c: dict) -> str:
    name = c.get("name", "?")
    conf = dict(c.get("configuration") or {})
    if name == "sharding_indexed":
        inner = ", ".join(v3_codec_text(x) for x in conf.pop("codecs", []))
        index = ", ".join(v3_codec_text(x) for x in conf.pop("index_codecs", []))
        return f"sharding_indexed({_conf_text(conf)}; codecs: {inner}; index_codecs: {index})"
    return f"{name}({_conf_text(conf)})" if conf else name


def v2_codec_text(c: dict | None) -> str:
    if not c:
        return "none"
    conf = {k: v for k, v in c.items() if k != "id"}
    if c.get("id") == "blosc" and "shuffle" in conf:
        conf["shuffle"] = {0: "0 (none)", 1: "1 (byte)", 2: "2 (bit)", -1: "-1 (auto)"}.get(conf["shuffle"], conf["shuffle"])
    return f"{c.get('id')}({_conf_text(conf)})" if conf else str(c.get("id"))


def case_params(case_id: str) -> list[tuple[str, str]]:
    """The encoding parameters of a case that readers must honour, as (what, text) pairs."""
    c = catalogue().get(case_id)
    if c is None:
        return [("case", "not in this version's catalogue")]
    out = [("dtype", c.dtype), ("shape / chunks", f"{list(c.shape)} / {list(c.chunks)}")]
    if c.format == "zarr2":
        out.append(("compressor", v2_codec_text(c.compressor)))
        if c.filters:
            out.append(("filters", ", ".join(v2_codec_text(f) for f in c.filters)))
        if c.order != "C":
            out.append(("order", c.order))
        if c.dimension_separator != ".":
            out.append(("dimension_separator", c.dimension_separator))
    elif c.format == "zarr3":
        out.append(("codecs", " → ".join(v3_codec_text(x) for x in c.codecs)))
        cke = c.chunk_key_encoding or {}
        if cke and cke != {"name": "default", "configuration": {"separator": "/"}}:
            out.append(("chunk_key_encoding", f"{cke.get('name')}({_conf_text(cke.get('configuration') or {})})"))
        if c.dimension_names:
            out.append(("dimension_names", _value(list(c.dimension_names))))
    else:
        comp = dict(c.compression or {})
        kind = comp.pop("type", "?")
        out.append(("compression", f"{kind}({_conf_text(comp)})" if comp else kind))
    if c.missing_chunks:
        out.append(("missing chunks", f"{len(c.missing_chunks)} of {_grid_size(c.chunk_grid)}"))
    if any(f.startswith("fill:") for f in c.features):
        out.append(("fill_value", _value(c.fill_value)))
    if c.path != "array":
        out.append(("path", repr(c.path) if c.path else "'' (the root)"))
    return out


def _grid_size(grid) -> int:
    n = 1
    for g in grid:
        n *= g
    return n


# --- shared helpers -----------------------------------------------------------------------

def cnt(c) -> dict:
    """A compact description of outcome counts for templates."""
    n = judged(c)
    return {"pass": c.get("pass", 0), "judged": n, "text": share_text(c), "mismatch": c.get("mismatch", 0),
            "unsupported": c.get("unsupported", 0), "error": c.get("error", 0), "bin": _bin(c),
            "other": n - c.get("pass", 0) - c.get("mismatch", 0) - c.get("unsupported", 0) - c.get("error", 0)}


def _bin(c) -> str:
    n = judged(c)
    if not n:
        return "none"
    p = c.get("pass", 0) / n
    if p == 1:
        return "h10"
    return f"h{min(9, int(p * 10))}"


def outcome_summary(c) -> str:
    from ..results import OUTCOME_ORDER

    return ", ".join(f"{c[o]} {o}" for o in OUTCOME_ORDER if c.get(o))


def finding_brief(f) -> dict:
    return {"id": f.id, "title": f.title, "implementation": f.implementation, "role": f.role,
            "severity": f.severity, "severity_text": SEVERITY_TEXT[f.severity], "rank": SEVERITY_RANK[f.severity],
            "upstream": f.upstream_link, "error": f.error, "versions": f.versions, "outcomes": list(f.outcomes),
            "notes": f.notes, "selectors": [s.describe() for s in f.cells], "explains": f.explains}


def cell_name(r: dict) -> str:
    access = f"[{r['access']}]" if (r.get("access") or "signed") != "signed" else ""
    return f"{r['writer']}/{r['case']}/{r['store']}/{r['reader']}{access}"


def grid_link(root: str = "", **params) -> str:
    from urllib.parse import urlencode

    p = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{root}grid.html" + ("#" + urlencode(p) if p else "")


# --- the landing page -----------------------------------------------------------------------

def heatmaps(run: Run) -> list[dict]:
    """Per format: writers x readers with the counts of each pair, over every store and per store."""
    out = []
    for fmt in run.formats:
        recs = [r for r in run.records if r["format"] == fmt]
        views: dict[str, dict] = defaultdict(lambda: defaultdict(Counter))
        for r in recs:
            pair = (r["writer"], r["reader"])
            views["all"][pair][r["outcome"]] += 1
            views[f"{r['store']}|{r.get('access') or 'signed'}"][pair][r["outcome"]] += 1
            if r.get("unexpected"):
                views["all"][pair]["_unexpected"] += 1
        allv = views["all"]
        writers = sorted({w for (w, _), c in allv.items() if judged(_strip(c))})
        readers = sorted({rd for (_, rd), c in allv.items() if judged(_strip(c))})
        absent_writers = sorted({r["writer"] for r in recs} - set(writers))
        sa_keys = sorted((k for k in views if k != "all"), key=lambda k: store_order(tuple(k.split("|"))))
        compact = {}
        for k in ["all", *sa_keys]:
            v = views[k]
            compact[k] = [[[_pack(v.get((w, rd))) for rd in readers] for w in writers]]
        rows = []
        for w in writers:
            cells = []
            for rd in readers:
                c = _strip(allv.get((w, rd), Counter()))
                cells.append({**cnt(c), "reader": rd, "unexpected": allv.get((w, rd), Counter()).get("_unexpected", 0),
                              "link": grid_link(format=fmt, store="all", writer=w, reader=rd)})
            rows.append({"writer": w, "cells": cells})
        total = Counter()
        for c in allv.values():
            total.update(_strip(c))
        out.append({"format": fmt, "title": FORMAT_TEXT.get(fmt, fmt), "writers": writers, "readers": readers,
                    "rows": rows, "absent_writers": absent_writers, "total": cnt(total),
                    "views": [{"key": k, "label": "every store" if k == "all" else store_label(*k.split("|"))}
                              for k in ["all", *sa_keys]],
                    "data": {k: v[0] for k, v in compact.items()}})
    return out


def _strip(c: Counter) -> Counter:
    return Counter({k: v for k, v in c.items() if not k.startswith("_")})


def _pack(c: Counter | None):
    """[pass, judged, mismatch, unsupported] for the page's script (0 when the pair has no cell)."""
    if not c:
        return 0
    n = judged(c)
    if not n:
        return 0
    return [c.get("pass", 0), n, c.get("mismatch", 0), c.get("unsupported", 0)]


def explained_findings(run: Run, findings: Findings) -> list[dict]:
    """Findings that explain cells or writes of the run, gravest first, with their counts."""
    n = Counter(r["finding"] for r in run.records + run.writes if r.get("finding"))
    outcomes: dict[str, Counter] = defaultdict(Counter)
    for r in run.records:
        if r.get("finding"):
            outcomes[r["finding"]][r["outcome"]] += 1
    out = []
    for fid, count in n.items():
        f = findings.by_id.get(fid)
        if f is not None:
            out.append({**finding_brief(f), "cells": count, "outcomes": dict(outcomes.get(fid, {}))})
    return sorted(out, key=lambda f: (f["rank"], -f["cells"], f["id"]))


def unexplained(run: Run) -> dict:
    """Unexpected cells (no finding explains them) by outcome and reader: silent wrong data first."""
    by: dict[str, Counter] = defaultdict(Counter)
    for r in run.records:
        if r.get("unexpected"):
            by[r["outcome"]][r["reader"]] += 1
    order = ["mismatch", "flaky", "crash", "timeout", "error", "unsupported", "pass"]
    return {"total": sum(sum(c.values()) for c in by.values()),
            "by_outcome": [{"outcome": o, "mark": MARKS.get(o, "?"), "count": sum(by[o].values()),
                            "readers": [{"reader": rd, "count": n,
                                         "link": grid_link(format="", store="all", reader=rd, outcome=o, unexpected=1)}
                                        for rd, n in by[o].most_common()]}
                           for o in order if by.get(o)]}


def provenance(run: Run, matrix) -> dict:
    impls = []
    for i in run.impl_ids:
        h = (run.info.get("implementations") or {}).get(i) or {}
        spec = matrix.implementations.get(name_of(i)) if matrix else None
        impls.append({"id": i, "name": name_of(i), "version": version_of(i), "reported": run.reported_version(i),
                      "language": h.get("language") or (spec.language if spec else ""),
                      "components": h.get("components") or {}, "verbs": h.get("verbs") or [],
                      "homepage": spec.homepage if spec else ""})
    stores = []
    for name, s in (run.info.get("stores") or {}).items():
        stores.append({"name": name, "version": s.get("version") or s.get("kind") or "", "access": s.get("access") or [],
                       "unavailable": s.get("unavailable_modes") or {}, "semantics": s.get("semantics") or {}})
    info = run.info
    return {"id": run.id, "started": info.get("started", ""), "finished": info.get("finished", ""),
            "profile": info.get("profile", ""), "harness": (info.get("harness") or {}).get("version", ""),
            "command": display_command(info.get("command")), "matrix": (info.get("matrix") or {}).get("sha256_16", ""),
            "runner": info.get("runner", ""), "jobs": info.get("jobs", ""), "write_mode": info.get("write_mode", ""),
            "platform": info.get("platform") or {}, "timings": info.get("timings_s") or {},
            "implementations": impls, "not_available": info.get("not_available") or {}, "stores": stores,
            "cells": len(run.records), "counts": dict(Counter(r["outcome"] for r in run.records)),
            "cases": len(run.cases), "source": run.source}


def display_command(cmd) -> str:
    """A run's command as the site shows it: the directories of the machine it ran on reduced to their names."""
    import shlex

    out = []
    for a in cmd or []:
        if a.startswith("/") and len(a) > 1:
            a = "…/" + a.rstrip("/").rsplit("/", 1)[-1]
        elif a.startswith(".venv/bin/"):
            a = a.removeprefix(".venv/bin/")
        out.append(shlex.quote(a) if any(ch in a for ch in " '\"*?") else a)
    return " ".join(out)


# --- what is safe to write ----------------------------------------------------------------------

def safe_to_write(run: Run, findings: Findings) -> list[dict]:
    """Per format: each case feature against every reader (the reader's own verdicts: cells of datasets
    their writer got wrong are left out), with the cases and their codec parameters."""
    write_ok: dict[str, set] = defaultdict(set)  # case -> writers that wrote it (ok, or faulty)
    write_no: dict[str, dict] = defaultdict(dict)  # case -> writer -> status (refused, failed)
    for w in run.writes:
        if w["status"] in ("ok", "faulty"):
            write_ok[w["case"]].add(w["writer"])
        elif w["status"] != "skipped":
            write_no[w["case"]][w["writer"]] = w["status"]
    out = []
    for fmt in run.formats:
        recs = [r for r in run.records if r["format"] == fmt and r["outcome"] != "skipped"
                and charged_to_reader(r)]
        readers = sorted({r["reader"] for r in recs})
        by_case: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        by_case_store: dict[str, dict[tuple, dict[str, Counter]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(Counter)))
        why: dict[tuple, Counter] = defaultdict(Counter)  # (case, reader) -> finding ids of failing cells
        for r in recs:
            by_case[r["case"]][r["reader"]][r["outcome"]] += 1
            by_case_store[r["case"]][(r["store"], r.get("access") or "signed")][r["reader"]][r["outcome"]] += 1
            if r["outcome"] != "pass":
                why[(r["case"], r["reader"])][r.get("finding") or ""] += 1
        cases = sorted(by_case)
        features: dict[str, list[str]] = defaultdict(list)
        for c in cases:
            for f in case_features(c):
                features[f].append(c)
        writers_of_format = sorted({w["writer"] for w in run.writes if w.get("format") == fmt})
        groups = []
        case_data: dict[str, dict] = {}  # each case once; the page lays out a feature's cases when it is opened
        for kind, label in FEATURE_KINDS + [("other", "Other")]:
            rows = []
            for feat in sorted((f for f in features if (feature_kind(f) == kind or
                                (kind == "other" and feature_kind(f) not in dict(FEATURE_KINDS)))), key=feature_sort_key):
                fcases = features[feat]
                per_reader = []
                for rd in readers:
                    c = Counter()
                    for cs in fcases:
                        c.update(by_case[cs].get(rd, {}))
                    f_ids = Counter()
                    for cs in fcases:
                        f_ids.update(why.get((cs, rd), {}))
                    per_reader.append({**cnt(c), "reader": rd, "findings": sorted(k for k in f_ids if k),
                                       "unexplained": f_ids.get("", 0)})
                full = sum(1 for x in per_reader if x["judged"] and x["pass"] == x["judged"])
                some = sum(1 for x in per_reader if x["judged"])
                wrote = set().union(*(write_ok.get(cs, set()) for cs in fcases)) if fcases else set()
                for cs in fcases:
                    if cs in case_data:
                        continue
                    stores = []
                    if store_sensitive_case(cs) and len(by_case_store[cs]) > 1:
                        for sa in sorted(by_case_store[cs], key=store_order):
                            stores.append([store_label(*sa), sa[0], sa[1],
                                           [_pack(by_case_store[cs][sa].get(rd)) for rd in readers]])
                    case_data[cs] = {"params": case_params(cs), "writers": sorted(write_ok.get(cs, set())),
                                     "refused": dict(sorted(write_no.get(cs, {}).items())),
                                     "cells": [_pack(by_case[cs].get(rd)) for rd in readers],
                                     "findings": [sorted(k for k in why.get((cs, rd), {}) if k) for rd in readers],
                                     "stores": stores}
                rows.append({"feature": feat, "text": FEATURE_TEXT.get(feat, feat.partition(":")[2] or feat),
                             "cells": per_reader, "full": full, "some": some, "cases": fcases,
                             "writers": sorted(wrote), "writers_total": len(writers_of_format)})
            if rows:
                groups.append({"kind": kind, "label": label, "rows": rows})
        used = sorted({fid for d in case_data.values() for fs in d["findings"] for fid in fs})
        fmap = {fid: [findings.by_id[fid].title, findings.by_id[fid].implementation] for fid in used if fid in findings.by_id}
        out.append({"format": fmt, "title": FORMAT_TEXT.get(fmt, fmt), "readers": readers, "groups": groups,
                    "data": {"format": fmt, "readers": readers, "cases": case_data, "findings": fmap}})
    return out


def store_sensitive_case(case_id: str) -> bool:
    c = catalogue().get(case_id)
    return bool(c and store_sensitive(c))


# --- one implementation ---------------------------------------------------------------------------

def implementation(name: str, run: Run, findings: Findings, matrix, history_rows: list[dict], diff: dict | None,
                   explained: list[dict]) -> dict:
    ids = [i for i in run.impl_ids if name_of(i) == name]
    spec = matrix.implementations.get(name) if matrix else None
    as_reader = [r for r in run.records if name_of(r["reader"]) == name]
    as_writer = [r for r in run.records if name_of(r["writer"]) == name]
    writes = [w for w in run.writes if name_of(w["writer"]) == name]
    formats = run.formats
    sas = run.store_modes

    def table(recs, who, own: bool):
        """Rows: store and access mode; columns: format; per implementation id."""
        out = []
        for i in ids:
            mine = [r for r in recs if r[who] == i and (not own or charged_to_reader(r))]
            if not mine:
                continue
            rows = []
            for sa in sas:
                cells = []
                for fmt in formats:
                    c = Counter(r["outcome"] for r in mine if r["format"] == fmt and r["store"] == sa[0]
                                and (r.get("access") or "signed") == sa[1])
                    link = grid_link(format=fmt, store=sa[0], access=sa[1], **{who: i})
                    cells.append({**cnt(c), "link": link, "summary": outcome_summary(c)})
                if any(c["judged"] for c in cells):
                    rows.append({"label": store_label(*sa), "store": sa[0], "access": sa[1], "cells": cells})
            total = Counter(r["outcome"] for r in mine)
            out.append({"id": i, "rows": rows, "total": cnt(total), "summary": outcome_summary(total)})
        return out

    # Features as a reader: per format, the features of the cases it read.
    feat_rows = []
    for fmt in formats:
        recs = [r for r in as_reader if r["format"] == fmt and r["outcome"] != "skipped" and charged_to_reader(r)]
        if not recs:
            continue
        per: dict[str, dict[str, Counter]] = defaultdict(lambda: defaultdict(Counter))
        for r in recs:
            for f in case_features(r["case"]):
                per[f][r["reader"]][r["outcome"]] += 1
        rows = []
        for f in sorted(per, key=feature_sort_key):
            rows.append({"feature": f, "cells": [{**cnt(per[f].get(i, Counter())), "id": i,
                                                 "link": grid_link(format=fmt, store="all", reader=i, feature=f)}
                                                for i in ids]})
        feat_rows.append({"format": fmt, "title": FORMAT_TEXT.get(fmt, fmt), "rows": rows})
    # Writes: per format and status.
    wtable = []
    for i in ids:
        mine = [w for w in writes if w["writer"] == i]
        if not mine:
            continue
        per_fmt = {fmt: Counter(w["status"] for w in mine if w.get("format") == fmt) for fmt in formats}
        problems = sorted((w for w in mine if w["status"] not in ("ok", "skipped")), key=lambda w: (w["status"], w["case"]))
        wtable.append({"id": i, "formats": [{"format": fmt, "counts": dict(per_fmt[fmt])} for fmt in formats],
                       "problems": [{"case": w["case"], "status": w["status"], "message": (w.get("message") or "")[:300],
                                     "finding": w.get("finding") or "", "unexpected": bool(w.get("unexpected"))}
                                    for w in problems]})
    # Store behaviour: messages of failing cells outside the local store.
    store_msgs = []
    for sa in sas:
        if sa == ("local", "signed"):
            continue
        c = Counter((r.get("diagnosis") or r.get("message") or "")[:200] for r in as_reader
                    if r["store"] == sa[0] and (r.get("access") or "signed") == sa[1]
                    and r["outcome"] not in ("pass", "skipped") and charged_to_reader(r))
        if c:
            store_msgs.append({"label": store_label(*sa), "messages": c.most_common(4)})
    mine_findings = [finding_brief(f) for f in findings.all if f.implementation == name]
    n = {f["id"]: f["cells"] for f in explained}
    for f in mine_findings:
        f["cells"] = n.get(f["id"], 0)
    mine_findings.sort(key=lambda f: (f["rank"], -f["cells"], f["id"]))
    unexp = Counter(r["outcome"] for r in as_reader if r.get("unexpected"))
    unexp_w = Counter(r["outcome"] for r in as_writer if r.get("unexpected") and name_of(r["reader"]) != name)
    handshakes = []
    for i in ids:
        h = (run.info.get("implementations") or {}).get(i) or {}
        handshakes.append({"id": i, "reported": run.reported_version(i), "language": h.get("language", ""),
                           "verbs": h.get("verbs") or [], "components": h.get("components") or {}})
    history = [row for row in history_rows if row["name"] == name]
    changes = None
    if diff:
        kinds = Counter()
        for g in diff.get("groups", []):
            kinds[g["kind"]] += g.get("implementations", {}).get(name, 0)
        bumps = [b for b in diff["versions"]["bumps"] if b["name"] == name]
        changes = {"kinds": dict(kinds), "bumps": bumps, "run": diff["run"], "previous": diff["previous"]}
    return {"name": name, "ids": ids, "language": (spec.language if spec else "") or (handshakes[0]["language"] if handshakes else ""),
            "description": spec.description if spec else "", "homepage": spec.homepage if spec else "",
            "handshakes": handshakes, "reads": table(as_reader, "reader", True),
            "read_by_others": table(as_writer, "writer", False), "features": feat_rows, "writes": wtable,
            "store_messages": store_msgs, "findings": mine_findings, "unexpected": dict(unexp),
            "unexpected_as_writer": dict(unexp_w), "history": history, "changes": changes,
            "semantics": [{"store": s, **(run.info.get("stores") or {}).get(s, {})} for s in sorted({sa[0] for sa in sas})
                          if (run.info.get("stores") or {}).get(s, {}).get("semantics")]}


# --- history ----------------------------------------------------------------------------------------

def history(runs: list[Run], tracks: list[dict], summaries: dict[str, dict]) -> dict:
    """Pass counts per implementation (as a reader) over runs, oldest first."""
    cols = [{"id": r.id, "started": r.started, "profile": r.profile, "cells": summaries[r.id].get("cells", 0)}
            for r in runs]
    rows = []
    for t in tracks:
        cells, prev = [], None
        for r in runs:
            i = t["ids"].get(r.id)
            s = (summaries[r.id].get("implementations") or {}).get(i) if i else None
            if not s:
                cells.append(None)
                continue
            c = Counter(s.get("reads") or {})
            n, p = judged(c), c.get("pass", 0)
            cell = {"id": i, "version": version_of(i), "pass": p, "judged": n, "text": share_text(c),
                    "share": (p / n) if n else None, "writes_ok": (s.get("writes") or {}).get("ok", 0),
                    "bumped": prev is not None and prev["id"] != i, "delta": None}
            if prev is not None and prev["judged"] and n:
                cell["delta"] = p - prev["pass"]
            cells.append(cell)
            prev = cell
        rows.append({"label": t["label"], "name": t["name"], "latest": t["latest"], "cells": cells})
    return {"runs": cols, "rows": rows}
