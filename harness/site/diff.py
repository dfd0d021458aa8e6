"""What changed between two runs: version bumps, new and removed implementations, cases and stores,
and every cell whose outcome changed (new failures, fixes, other changes), both runs judged against
the same findings.

Cells are keyed by (writer, case, store, access, reader) with implementations known by name
(model.pair_versions): after a version bump the cells of the new version are compared with those
of the old one.
"""

from __future__ import annotations

from collections import Counter

from .model import Run, name_of, pair_versions

SCHEMA = "zarr-conformance/diff@1"
MAX_LISTED = 300  # cells listed per group (the count is always complete)

# Kinds of change, in the order a reader wants them: what broke, then what changed, then what got fixed.
KINDS = {
    "new-failure": "new failures (passed in the previous run)",
    "changed": "failures that changed outcome",
    "fixed": "fixed (failed in the previous run, pass now)",
    "newly-read": "newly read (no dataset or reader before)",
    "no-longer-read": "no longer read (skipped now)",
}
GRAVITY = {"mismatch": 0, "flaky": 1, "crash": 2, "timeout": 3, "error": 4, "unsupported": 5, "skipped": 6, "pass": 7}


def _kind(before: str, after: str) -> str | None:
    if before == after:
        return None
    if after == "skipped":
        return "no-longer-read"
    if before == "skipped":
        return "newly-read"
    if before == "pass":
        return "new-failure"
    if after == "pass":
        return "fixed"
    return "changed"


def _key(r: dict, writer: str, reader: str) -> tuple:
    return (writer, r["case"], r["store"], r.get("access") or "signed", reader)


def _cell(r_now: dict | None, r_before: dict | None) -> dict:
    r = r_now or r_before
    out = {"writer": r["writer"], "case": r["case"], "store": r["store"], "access": r.get("access") or "signed",
           "reader": r["reader"], "format": r.get("format", "")}
    if r_before is not None:
        out["before"] = r_before["outcome"]
        if r_now is not None and (r_before["writer"] != r_now["writer"] or r_before["reader"] != r_now["reader"]):
            out["before_writer"], out["before_reader"] = r_before["writer"], r_before["reader"]
    if r_now is not None:
        out["after"] = r_now["outcome"]
        out["message"] = (r_now.get("diagnosis") or r_now.get("message") or "")[:300]
        out["finding"] = r_now.get("finding") or ""
        out["unexpected"] = bool(r_now.get("unexpected"))
    else:
        out["message"] = (r_before.get("diagnosis") or r_before.get("message") or "")[:300]
    return out


def diff_runs(prev: Run, cur: Run) -> dict:
    pairing = pair_versions(prev.impl_ids, cur.impl_ids)
    m = pairing.to_current
    before = {}
    for r in prev.records:
        w, rd = m.get(r["writer"]), m.get(r["reader"])
        if w and rd:
            before[_key(r, w, rd)] = r
    now = {_key(r, r["writer"], r["reader"]): r for r in cur.records}

    groups: dict[tuple, dict] = {}
    bumped = {b["to"] for b in pairing.bumps}
    per_bump = Counter()
    unchanged = 0
    for k, r in now.items():
        b = before.get(k)
        if b is None:
            continue
        kind = _kind(b["outcome"], r["outcome"])
        if kind is None:
            unchanged += 1
            continue
        g = groups.setdefault((kind, b["outcome"], r["outcome"]), {
            "kind": kind, "title": KINDS[kind], "before": b["outcome"], "after": r["outcome"], "count": 0,
            "readers": Counter(), "writers": Counter(), "implementations": Counter(), "cells": []})
        g["count"] += 1
        for n in {name_of(r["reader"]), name_of(r["writer"])}:
            g["implementations"][n] += 1
        g["readers"][name_of(r["reader"])] += 1
        g["writers"][name_of(r["writer"])] += 1
        g["cells"].append(_cell(r, b))
        for i in {r["writer"], r["reader"]} & bumped:
            per_bump[i] += 1
    new_keys = [k for k in now if k not in before]
    gone_keys = [k for k in before if k not in now]

    kind_order = list(KINDS)
    out_groups = []
    for (kind, b, a), g in sorted(groups.items(), key=lambda kv: (kind_order.index(kv[0][0]), GRAVITY.get(kv[0][2], 9),
                                                                    GRAVITY.get(kv[0][1], 9))):
        cells = sorted(g["cells"], key=lambda c: (c["reader"], c["writer"], c["case"], c["store"], c["access"]))
        out_groups.append({**g, "readers": dict(g["readers"].most_common()), "writers": dict(g["writers"].most_common()),
                           "implementations": dict(g["implementations"].most_common()), "cells": cells[:MAX_LISTED], "listed": min(len(cells), MAX_LISTED)})

    def summarise(keys, table):
        c = Counter(table[k]["outcome"] for k in keys)
        by_case = Counter(k[1] for k in keys)
        by_impl = Counter(name_of(x) for k in keys for x in {k[0], k[4]})
        cells = [_cell(table[k] if table is now else None, table[k] if table is before else None)
                 for k in sorted(keys)[:MAX_LISTED]]
        return {"count": len(keys), "counts": dict(c), "cases": dict(by_case.most_common()),
                "implementations": dict(by_impl.most_common()), "cells": cells, "listed": len(cells)}

    prev_cases, cur_cases = set(prev.cases), set(cur.cases)
    prev_sa, cur_sa = set(prev.store_modes), set(cur.store_modes)
    components = []
    for a, b in sorted(m.items()):
        ca, cb = prev.components(a), cur.components(b)
        for comp in sorted(set(ca) | set(cb)):
            if ca.get(comp) != cb.get(comp):
                components.append({"implementation": b, "component": comp, "from": ca.get(comp), "to": cb.get(comp)})
    reported = []
    for a, b in sorted(m.items()):
        va, vb = prev.reported_version(a), cur.reported_version(b)
        if a == b and va != vb:  # the same matrix version reports another version (a dev build, say)
            reported.append({"implementation": b, "from": va, "to": vb})
    findings_before = Counter(r["finding"] for r in prev.records if r.get("finding"))
    findings_now = Counter(r["finding"] for r in cur.records if r.get("finding"))
    return {
        "schema": SCHEMA,
        "run": cur.id,
        "previous": prev.id,
        "previous_started": prev.started,
        "started": cur.started,
        "harness": {"from": (prev.info.get("harness") or {}).get("version"),
                    "to": (cur.info.get("harness") or {}).get("version")},
        "versions": {
            "bumps": [{**b, "reported_from": prev.reported_version(b["from"]), "reported_to": cur.reported_version(b["to"]),
                       "cells_changed": per_bump.get(b["to"], 0)} for b in pairing.bumps],
            "reported": reported,
            "components": components,
            "added": pairing.added,
            "removed": pairing.removed,
        },
        "cases": {"added": sorted(cur_cases - prev_cases), "removed": sorted(prev_cases - cur_cases)},
        "stores": {"added": [list(x) for x in sorted(cur_sa - prev_sa)],
                   "removed": [list(x) for x in sorted(prev_sa - cur_sa)]},
        "cells": {"compared": len(now) - len(new_keys), "unchanged": unchanged,
                  "changed": sum(g["count"] for g in out_groups), "new": len(new_keys), "gone": len(gone_keys)},
        "groups": out_groups,
        "new_cells": summarise(new_keys, now),
        "gone_cells": summarise(gone_keys, before),
        "findings": {
            "newly_explaining": sorted(set(findings_now) - set(findings_before)),
            "no_longer_explaining": sorted(set(findings_before) - set(findings_now)),
            "counts": {f: [findings_before.get(f, 0), findings_now.get(f, 0)]
                       for f in sorted(set(findings_now) | set(findings_before))
                       if findings_before.get(f, 0) != findings_now.get(f, 0)},
        },
    }


def diff_headline(d: dict) -> dict:
    """The few numbers a landing page and the runs index show of a diff."""
    by_kind = Counter()
    mism = 0
    for g in d.get("groups", []):
        by_kind[g["kind"]] += g["count"]
        if g["after"] == "mismatch":
            mism += g["count"]
    v = d.get("versions", {})
    return {"previous": d.get("previous"), "new_failures": by_kind["new-failure"], "fixed": by_kind["fixed"],
            "changed": by_kind["changed"], "newly_read": by_kind["newly-read"], "no_longer_read": by_kind["no-longer-read"],
            "new_mismatches": mism, "bumps": len(v.get("bumps", [])) + len(v.get("reported", [])),
            "components": len(v.get("components", [])),
            "implementations_added": len(v.get("added", [])), "implementations_removed": len(v.get("removed", [])),
            "cases_added": len(d.get("cases", {}).get("added", [])),
            "cases_removed": len(d.get("cases", {}).get("removed", []))}
