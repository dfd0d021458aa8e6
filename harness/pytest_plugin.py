"""The matrix as pytest items: `pytest --zc [--zc-profile smoke] [--zc-readers ...]`.

One item per cell, id `writer/case/store/reader`, selectable with -k. Items
are made from the plan alone, so collecting is cheap; the session (adapters,
stores) starts at the first item and datasets are written on demand (and
cached as in a CLI run). Known outcomes from the expectations file become
strict xfails, so a fixed bug shows up as XPASS(strict). Results land in
--zc-out as in a CLI run.
"""

from __future__ import annotations

import pytest

from .expectations import NEUTRAL


def pytest_addoption(parser):
    g = parser.getgroup("zarr-conformance")
    g.addoption("--zc", action="store_true", help="collect the conformance matrix as test items")
    g.addoption("--zc-matrix", default=None, help="matrix file")
    g.addoption("--zc-profile", default=None, help="profile of the matrix (default: its default_profile)")
    for name in ("writers", "readers", "cases", "stores"):
        g.addoption(f"--zc-{name}", default=None, help=f"comma-separated {name} (as the CLI's --{name})")
    g.addoption("--zc-expectations", default=None, help="expectations file (default: expectations.yaml if present)")
    g.addoption("--zc-out", default=None, help="run directory for results and report")
    g.addoption("--zc-jobs", type=int, default=1)


def _csv(v):
    return [x.strip() for x in v.split(",") if x.strip()] if v else None


class CellItem(pytest.Item):
    def __init__(self, *, zc, writer, case, store, access, reader, **kw):
        super().__init__(**kw)
        self.zc, self.writer, self.case, self.store_name, self.access, self.reader = zc, writer, case, store, access, reader

    def runtest(self):
        from .read import Cell

        session = self.zc.session()
        if self.reader.id in session.not_available or self.writer.id in session.not_available:
            pytest.skip(f"not available: {session.not_available.get(self.reader.id) or session.not_available.get(self.writer.id)}")
        if self.store_name not in session.stores:
            pytest.skip(f"store {self.store_name} not available: {session.not_available.get('store:' + self.store_name)}")
        ds = session.ensure_dataset(self.writer, self.case)
        if ds.status == "unsupported":
            pytest.skip(f"writer {self.writer.id} does not write this: {ds.message}")
        store = session.stores[self.store_name]
        if self.access not in store.access_modes:
            pytest.skip(f"{self.store_name} cannot produce access mode {self.access}: {store.unavailable_modes.get(self.access)}")
        if not session.access_applies(ds, self.access):
            pytest.skip(f"access mode {self.access} reads only store-sensitive cases")
        session.ensure_published(ds, store, self.access)
        rec = session.run_cell(Cell(ds, store, self.access, self.reader, session.dataset_key(ds)))
        self.user_properties.append(("outcome", rec["outcome"]))
        if rec["outcome"] == "pass":
            return
        text = f"{rec['outcome']}: {rec['message']}" + (f" [diagnosis: {rec['diagnosis']}]" if rec["diagnosis"] else "")
        if rec["outcome"] in NEUTRAL and not rec["unexpected"]:
            pytest.skip(text)
        raise CellFailure(text)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class CellFailure(Exception):
    pass


class _Lazy:
    def __init__(self, config):
        self.config = config
        self._session = None

    def options(self):
        from .cli import _default_expectations
        from .run import RunOptions

        o = self.config.getoption
        return RunOptions(matrix=o("--zc-matrix"), profile=o("--zc-profile"), writers=_csv(o("--zc-writers")),
                          readers=_csv(o("--zc-readers")), cases=_csv(o("--zc-cases")), stores=_csv(o("--zc-stores")),
                          out=o("--zc-out"), expectations=o("--zc-expectations") or _default_expectations(),
                          jobs=o("--zc-jobs"), quiet=True)

    def session(self):
        if self._session is None:
            from .run import Session

            self._session = Session(self.options())
            self._session.start()
        return self._session

    def close(self):
        if self._session is not None:
            try:
                self._session.close()
            finally:
                self._session.finish()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    if not config.getoption("--zc"):
        return
    from .expectations import Expectations
    from .matrix import ConfigError
    from .cases import store_sensitive
    from .run import make_plan

    zc = _Lazy(config)
    config._zc = zc
    try:
        opts = zc.options()
        plan = make_plan(opts)
        expectations = Expectations.load(opts.expectations)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    for w in plan.writers:
        for case in plan.cases:
            for store in plan.stores:
                for access in plan.matrix.stores[store].access:
                    if access != "signed" and not store_sensitive(case):
                        continue
                    for r in plan.readers:
                        name = f"{w.id}/{case.id}/{store}/{r.id}" + (f"[{access}]" if access != "signed" else "")
                        item = CellItem.from_parent(session, name=name, zc=zc, writer=w, case=case, store=store,
                                                    access=access, reader=r)
                        entry = expectations.lookup({"writer": w.id, "case": case.id, "store": store, "reader": r.id,
                                                      "access": access})
                        if entry and entry.outcome not in NEUTRAL:
                            item.add_marker(pytest.mark.xfail(reason=f"{entry.outcome}: {entry.reason}", strict=True))
                        items.append(item)


def pytest_unconfigure(config):
    zc = getattr(config, "_zc", None)
    if zc is not None:
        zc.close()
