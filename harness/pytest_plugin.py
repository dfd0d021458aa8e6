"""The matrix as pytest items: `pytest --zc [--zc-profile smoke] [--zc-readers ...]`.

One item per cell of the plan (harness/plan.py), id
`writer/case/store/reader[access]`, selectable with -k: exactly the cells
`zarr-conformance run` reads for the same selection. Items are made from the
plan alone, so collecting is cheap; the session (adapters, stores) starts at
the first item and datasets are written on demand (and cached as in a CLI
run). Cells a finding predicts to fail become strict xfails, so a fix shows up
as XPASS(strict); cells skipped in a run (no dataset, implementation or
store) are skipped items. Results land in --zc-out as in a CLI run.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser):
    g = parser.getgroup("zarr-conformance")
    g.addoption("--zc", action="store_true", help="collect the conformance matrix as test items")
    g.addoption("--zc-matrix", default=None, help="matrix file")
    g.addoption("--zc-profile", default=None, help="profile of the matrix (default: its default_profile)")
    for name in ("writers", "readers", "cases", "stores"):
        g.addoption(f"--zc-{name}", default=None, help=f"comma-separated {name} (as the CLI's --{name})")
    g.addoption("--zc-findings", default=None, help="findings directory (default: findings/ of the project)")
    g.addoption("--zc-no-findings", action="store_true", help="expect every cell to pass")
    g.addoption("--zc-out", default=None, help="run directory for results and report")
    g.addoption("--zc-jobs", type=int, default=1)
    g.addoption("--zc-runner", default="local", choices=["local", "docker"], help="where adapters run")
    g.addoption("--zc-base-image", default=None, help="with --zc-runner docker: the images' base image")
    g.addoption("--zc-write-mode", default="local", choices=["local", "native"])


def _csv(v):
    return tuple(x.strip() for x in v.split(",") if x.strip()) if v else None


class CellItem(pytest.Item):
    def __init__(self, *, zc, cell, **kw):
        super().__init__(**kw)
        self.zc, self.cell = zc, cell

    def runtest(self):
        rec = self.zc.session().read(self.cell)
        if rec is None:
            pytest.exit("interrupted")
        self.user_properties.append(("outcome", rec["outcome"]))
        if rec["outcome"] == "pass" and not rec["unexpected"]:
            return
        text = f"{rec['outcome']}: {rec['message']}" + (f" [diagnosis: {rec['diagnosis']}]" if rec["diagnosis"] else "")
        if rec["outcome"] == "skipped":
            pytest.skip(text)
        if rec["label"] == "faulty-dataset":
            pytest.skip(f"the writer wrote this dataset wrong ({rec['dataset_fault']}); {text}")
        if rec["label"] == "faulty-store":
            pytest.skip(f"the store does not serve this dataset as published ({rec['store_fault']}); {text}")
        if not rec["unexpected"]:
            if self.get_closest_marker("xfail") is None:  # a finding of the real version, not the matrix's
                pytest.xfail(f"{text} (finding {rec['finding']})")
            raise ExpectedCellFailure(f"{text} (finding {rec['finding']})")  # the strict xfail marker takes it
        raise CellFailure(f"{text} (expected {' or '.join(rec['expected'])})")

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CellFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, self.name


class CellFailure(Exception):
    """An unexpected outcome: fails the item, also under an xfail marker."""


class ExpectedCellFailure(CellFailure):
    """An outcome a finding predicts: the item's strict xfail marker takes it."""


class _Lazy:
    def __init__(self, config):
        self.config = config
        self._session = None
        self.plan = None

    def options(self):
        from .findings import default_findings
        from .plan import Selection
        from .run import RunOptions

        o = self.config.getoption
        sel = Selection(matrix=o("--zc-matrix"), profile=o("--zc-profile"), writers=_csv(o("--zc-writers")),
                        readers=_csv(o("--zc-readers")), cases=_csv(o("--zc-cases")), stores=_csv(o("--zc-stores")),
                        write_mode=o("--zc-write-mode"))
        findings = None if o("--zc-no-findings") else (o("--zc-findings") or default_findings(o("--zc-matrix")))
        return RunOptions(selection=sel, out=o("--zc-out"), findings=findings, jobs=o("--zc-jobs"), quiet=True,
                          runner=o("--zc-runner"),
                          runner_options={"base_image": o("--zc-base-image")} if o("--zc-base-image") else None)

    def session(self):
        if self._session is None:
            from .run import Session

            self._session = Session(self.options(), plan=self.plan)
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
    from .findings import Findings
    from .matrix import ConfigError
    from .plan import make_plan

    zc = _Lazy(config)
    config._zc = zc
    try:
        opts = zc.options()
        zc.plan = make_plan(opts.selection)
        findings = Findings.load(opts.findings, set(zc.plan.matrix.implementations))
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    cells = []
    for cell in zc.plan.cells:
        item = CellItem.from_parent(session, name=cell.test_id, zc=zc, cell=cell)
        predicted = [o for f in zc.plan.predicted(cell, findings) for o in f.outcomes]
        if predicted:
            item.add_marker(pytest.mark.xfail(reason=" or ".join(sorted(set(predicted))), strict=True,
                                              raises=ExpectedCellFailure))
        cells.append(item)
    items.extend(cells)
    # Report them as collected, so that counts and --collect-only see the matrix's items.
    from _pytest.reports import CollectReport

    config.hook.pytest_collectreport(report=CollectReport("zarr-conformance", "passed", None, cells))


def pytest_unconfigure(config):
    zc = getattr(config, "_zc", None)
    if zc is not None:
        zc.close()
