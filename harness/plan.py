"""The plan: which cells a run reads, as a pure function of the matrix and a selection.

`run`, the pytest plugin, `ci` and publishing all call `make_plan`, so they
never disagree about what a run is. A cell is (writer, case, store, access
mode, reader); the plan lists every cell the selection names, whether or not
its dataset, implementation or store turns out to be available: those are
recorded as `skipped` with the reason, so that nothing silently disappears.

A case with a source file (kerchunk references into netCDF4 or HDF5, written by
a writer with `sources:`) is read through the kerchunk stores only, in the
version 1 file kerchunk wrote; the other writers do not have it.

Which access modes read which cases is decided here from the case alone:
every case is read `signed` (a reference store: through its version 1
file); the other modes read the store-sensitive cases
(sparse arrays, shards, '/' separators, keys that need escaping), and
`forbidden-chunk` only those with at least one stored chunk to deny.

A version limited to some stores (`stores:` in matrix.yaml, e.g. a code path
of a library that only reaches remote stores) has cells only there: as a
reader, for the stores it names; as a writer, datasets written on disk only
when it names `local`, and native writes only into the S3 stores it names.
Those other cells are not part of the matrix (as an access mode that does not
apply to a case), so they are left out, not skipped; naming such a version
for a run in which it has no cell at all is a usage error that says why.
A version limited to some formats (`formats:`, a library of one format: an N5
library) likewise reads and writes only the cases of those formats.
An implementation that only reads or only writes (`verbs:`) is never a writer
(a reader) of the plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .cases import FORMAT_PREFIX, Case, catalogue, select, store_sensitive
from .findings import CellFacts, Finding, Findings
from .matrix import ConfigError, ImplVersion, Matrix, did_you_mean, load_matrix

WRITE_MODES = ("local", "native")


@dataclass(frozen=True)
class Selection:
    """What a user asked for: a profile and its narrowing by the command line (or pytest options)."""

    matrix: str | None = None
    profile: str | None = None
    writers: tuple[str, ...] | None = None
    readers: tuple[str, ...] | None = None
    cases: tuple[str, ...] | None = None
    stores: tuple[str, ...] | None = None
    write_mode: str = "local"  # "native": writers also write straight into each S3 store
    involving: tuple[str, ...] | None = None  # only the cells these implementations write or read (`ci`)


@dataclass(frozen=True)
class PlannedCell:
    writer: ImplVersion
    case: Case
    store: str
    access: str
    reader: ImplVersion
    native: bool = False  # the writer wrote the dataset straight into this (S3) store

    @property
    def store_column(self) -> str:
        """A dataset the writer wrote into the store itself counts as a store column of its own."""
        return f"{self.store}+native-write" if self.native else self.store

    def ident(self) -> dict:
        return {"writer": self.writer.id, "case": self.case.id, "store": self.store_column,
                "access": self.access, "reader": self.reader.id}

    @property
    def key(self) -> tuple:
        return (self.writer.id, self.case.id, self.store_column, self.access, self.reader.id)

    @property
    def test_id(self) -> str:
        suffix = f"[{self.access}]" if self.access != "signed" else ""
        return f"{self.writer.id}/{self.case.id}/{self.store_column}/{self.reader.id}{suffix}"

    def facts(self) -> CellFacts:
        return CellFacts(writer=self.writer.id, reader=self.reader.id, case=self.case.id, format=self.case.format,
                         dtype=self.case.dtype, features=self.case.features, store=self.store_column,
                         access=self.access, write_mode="native" if self.native else "local",
                         writer_version=self.writer.release, reader_version=self.reader.release)


@dataclass
class Plan:
    matrix: Matrix
    profile: str
    cases: list[Case]
    writers: list[ImplVersion]
    readers: list[ImplVersion]
    stores: dict[str, list[str]]  # store name -> the access modes this run reads it in
    write_mode: str
    remote_cases: str = "all"  # the profile's: "store-sensitive" reads the other cases from local disk only
    cells: list[PlannedCell] = field(default_factory=list)

    def keep(self, cells: list[PlannedCell]) -> None:
        """Narrow the plan to these cells, and its writers and readers to the ones they name."""
        self.cells = cells
        self.writers = [w for w in self.writers if any(c.writer.id == w.id for c in cells)]
        self.readers = [r for r in self.readers if any(c.reader.id == r.id for c in cells)]

    def impls(self) -> list[ImplVersion]:
        """Every implementation the plan starts, writers first, each once."""
        seen: dict[str, ImplVersion] = {}
        for iv in self.writers + self.readers:
            seen.setdefault(iv.id, iv)
        return list(seen.values())

    def writes(self) -> list[tuple[ImplVersion, Case]]:
        """The datasets written on disk (then published to every store): those a cell of the plan reads (a
        case no reader of the run reads, one of a format the readers are not limited to, is not written)."""
        read = {(c.writer.id, c.case.id) for c in self.cells if not c.native}
        return [(w, c) for w in self.writers if w.uses_store("local") for c in self.cases if (w.id, c.id) in read]

    def native_stores(self) -> list[str]:
        if self.write_mode != "native":
            return []
        return [s for s in self.stores if self.matrix.stores[s].kind.startswith("s3-")]

    def native_writes(self) -> list[tuple[ImplVersion, Case, str]]:
        """The datasets writers write straight into an S3 store (native write mode)."""
        read = {(c.writer.id, c.case.id, c.store) for c in self.cells if c.native}
        return [(w, c, s) for s in self.native_stores() for w in self.writers if w.uses_store(s)
                for c in self.cases if (w.id, c.id, s) in read]

    def predicted(self, cell: PlannedCell, findings: Findings) -> list[Finding]:
        """The findings about a cell (by the matrix's versions: the real ones are known once adapters start)."""
        return findings.about(cell.facts(), "reads")


def has_stored_chunk(case: Case) -> bool:
    """At least one chunk (or shard) object exists in a correct dataset of this case (of a partial-read case:
    among those its region touches)."""
    if case.region:
        return any(idx not in case.missing_chunks for idx in case.region_chunks)
    return math.prod(case.chunk_grid) > len(case.missing_chunks)


# The access modes that read every case (a store's first: S3's signed, a reference store's version 1
# file); the others read the store-sensitive cases only.
EVERY_CASE_ACCESS = ("signed", "kerchunk-v1")


def store_applies(case: Case, store_kind: str) -> bool:
    """A case with a source file (references into netCDF4 or HDF5) has no Zarr dataset of its own: it is read
    through the kerchunk stores only."""
    return not case.source or store_kind == "kerchunk"


def access_applies(case: Case, access: str) -> bool:
    if case.source:
        return access == "kerchunk-v1"  # the reference file as kerchunk wrote it
    if access in EVERY_CASE_ACCESS:
        return True
    if not store_sensitive(case):
        return False
    if case.expect == "refusal" and access == "forbidden-chunk":
        return False  # a corrupt dataset must fail anyway: a denied chunk would say nothing more
    return access != "forbidden-chunk" or has_stored_chunk(case)


def make_plan(sel: Selection) -> Plan:
    m = load_matrix(sel.matrix)
    pname = sel.profile or m.default_profile
    if pname not in m.profiles:
        raise ConfigError(f"unknown profile {pname!r}" + did_you_mean(pname, m.profiles)
                          + f"; profiles: {', '.join(m.profiles)}")
    prof = m.profiles[pname]
    patterns = list(sel.cases or prof.cases or []) or None
    # Cases named on the command line may come from any tier.
    cases = select(patterns, prof.tier if not sel.cases else "full")
    if not cases:
        hint = did_you_mean(patterns[0], catalogue()) if patterns else ""
        raise ConfigError(f"no case matches {patterns}{hint}; see `zarr-conformance list cases`")
    store_names = list(sel.stores or prof.stores or m.stores)
    for s in store_names:
        if s not in m.stores:
            raise ConfigError(f"unknown store {s!r}" + did_you_mean(s, m.stores) + f"; stores: {', '.join(m.stores)}")
    if sel.write_mode not in WRITE_MODES:
        raise ConfigError(f"unknown write mode {sel.write_mode!r}; write modes: {', '.join(WRITE_MODES)}")
    # A profile's access restriction goes with its own store list: stores named on the
    # command line are read in every access mode they define.
    restrict = None if sel.stores else prof.access
    stores = {s: [a for a in m.stores[s].access if restrict is None or a in restrict] for s in store_names}
    writers = _doers(m, list(sel.writers or prof.writers or []), "write")
    readers = _doers(m, list(sel.readers or prof.readers or []), "read")
    for target in sel.involving or ():
        if target not in {iv.id for iv in m.impl_versions()}:
            raise ConfigError(f"unknown target {target!r}" + did_you_mean(target, [iv.id for iv in m.impl_versions()]))
    # Likewise the profile's choice of the cases read remotely goes with its own stores and cases.
    remote_cases = "all" if sel.stores or sel.cases else prof.remote_cases
    plan = Plan(m, pname, cases, writers, readers, stores, sel.write_mode, remote_cases)
    plan.cells = _cells(plan)
    _drop_store_limited(plan, sel)
    if sel.involving:
        # Both directions: everyone reading what the target writes, the target reading everyone's,
        # and its own round trip.
        plan.keep([c for c in plan.cells if c.writer.id in sel.involving or c.reader.id in sel.involving])
    return plan


def _doers(m: Matrix, names: list[str], verb: str) -> list[ImplVersion]:
    """The writers (readers) selected: a write-only implementation is never a reader, nor a read-only one a
    writer (its `verbs:`); one named for what it does not do is a usage error."""
    role = "writer" if verb == "write" else "reader"
    chosen = m.resolve_impls(names or None, role)
    wrong = [iv for iv in chosen if not iv.does(verb)]
    if names and wrong:
        iv = wrong[0]
        raise ConfigError(f"{iv.name} does not {verb} (verbs: [{', '.join(iv.impl.verbs or [])}] in matrix.yaml): "
                          f"it is no {role}; select it as a {'reader' if verb == 'write' else 'writer'}")
    return [iv for iv in chosen if iv.does(verb)]


def _cells(plan: Plan) -> list[PlannedCell]:
    out = []
    for w in plan.writers:
        for case in plan.cases:
            if not w.writes_case(case):
                continue
            readers = [r for r in plan.readers if r.uses_format(case.format)]
            if w.uses_store("local"):
                for store, modes in plan.stores.items():
                    kind = plan.matrix.stores[store].kind
                    if not store_applies(case, kind):
                        continue
                    if kind != "local" and plan.remote_cases == "store-sensitive" and not store_sensitive(case):
                        continue
                    here = [r for r in readers if r.uses_store(store)]
                    for access in modes:
                        if access_applies(case, access):
                            out += [PlannedCell(w, case, store, access, r) for r in here]
            for store in plan.native_stores():
                # The harness alters a dataset on disk after its writer wrote it: never one written into a store.
                if w.uses_store(store) and not case.alterations and not case.source:
                    out += [PlannedCell(w, case, store, "signed", r, native=True)
                            for r in readers if r.uses_store(store)]
    return out


def _drop_store_limited(plan: Plan, sel: Selection) -> None:
    """Writers and readers limited to stores (or formats) this run has no cell of leave the plan; one named
    by its id on the command line (or the profile) is a usage error that says which stores (formats) it has."""
    named = {"writer": set(sel.writers or plan.matrix.profiles[plan.profile].writers or []),
             "reader": set(sel.readers or plan.matrix.profiles[plan.profile].readers or [])}
    for role, ivs in (("writer", plan.writers), ("reader", plan.readers)):
        busy = {getattr(c, role).id for c in plan.cells}
        for iv in list(ivs):
            if (iv.spec.stores is None and iv.spec.formats is None) or iv.id in busy:
                continue
            if iv.id in named[role]:
                raise ConfigError(_no_cells_why(plan, iv, role))
            ivs.remove(iv)


def _no_cells_why(plan: Plan, iv: ImplVersion, role: str) -> str:
    if iv.spec.formats is not None and not any(iv.uses_format(c.format) for c in plan.cases):
        return (f"{iv.id} {'reads' if role == 'reader' else 'writes'} only {', '.join(iv.spec.formats)} "
                f"(its formats in matrix.yaml), and this run has no case of them; select some (--cases "
                f"'{FORMAT_PREFIX[iv.spec.formats[0]]}/*')")
    if iv.spec.stores is None:
        other = "writer" if role == "reader" else "reader"
        return (f"{iv.id} has no cell in this run: no {other} of this run has a cell with it in its formats "
                f"({', '.join(iv.spec.formats or [])})")
    limited = ", ".join(iv.spec.stores)
    if role == "reader":
        return (f"{iv.id} reads only from {limited} (its stores in matrix.yaml), and this run reads "
                f"{', '.join(plan.stores) or 'no store'}: no cell to read; add one of its stores (--stores)")
    native = [s for s in iv.spec.stores if plan.matrix.stores[s].kind.startswith("s3-")]
    how = (f"; it writes natively into {', '.join(native)} (--write-mode native --stores {','.join(native)})"
           if native else "")
    return (f"{iv.id} writes no dataset of this run: not on disk (local is not among its stores in matrix.yaml: "
            f"{limited}), nor natively into an S3 store of this run{how}")
