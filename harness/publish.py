"""Publish: every written dataset into every store of the run, in each access mode it is read in.

Publishing is idempotent and happens once per (dataset, store, access mode),
also when the pytest plugin asks for one cell at a time. A dataset the harness
altered is published with its intact copy beside it (under `intact/`), which
the read stage reads as a control from the same store. In `forbidden-chunk`
one existing chunk object of each dataset is denied; which one is found once
per dataset (it walks the dataset's files).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from .generate import Dataset
from .plan import access_applies, store_applies
from .stores import Store, StoreSet, first_chunk_key, s3_key


def dataset_key(ds: Dataset) -> str:
    """Where a dataset sits in a store: its own key for a native write, else by writer and case."""
    return ds.key or s3_key("datasets", ds.writer.id, ds.case.id)


def intact_key(ds: Dataset) -> str:
    """Where the intact copy of an altered dataset sits (harness/alter.py), for control reads from the same store."""
    return s3_key("intact", ds.writer.id, ds.case.id)


class Publisher:
    def __init__(self, stores: StoreSet):
        self.stores = stores
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._published: set = set()
        self._denied: dict[tuple, str | None] = {}

    def denied_key(self, ds: Dataset) -> str | None:
        key = (ds.writer.id, ds.case.id)
        with self._lock:
            known = key in self._denied
        if not known:
            found = first_chunk_key(ds.path, ds.case) if ds.ok else None
            with self._lock:
                self._denied[key] = found
        return self._denied[key]

    def ensure(self, ds: Dataset, store: Store, access: str, settle: bool = True) -> None:
        """The dataset is in the store under this access mode (local needs nothing). With `settle`
        a deny takes effect at once (one cell at a time, as in pytest); publish_all settles once."""
        if (store.kind == "local" or not ds.ok or ds.store or not access_applies(ds.case, access)
                or not store_applies(ds.case, store.kind)):
            return
        key = (ds.writer.id, ds.case.id, store.name, access)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._published:
                deny = self.denied_key(ds) if access == "forbidden-chunk" else None
                store.publish(ds.path, dataset_key(ds), access, deny)
                if ds.pristine is not None:
                    store.publish(ds.pristine, intact_key(ds), access)
                self._published.add(key)
                if deny and settle:
                    store.finish_publishing()

    def publish_all(self, datasets: list[Dataset], progress) -> None:
        ok = [d for d in datasets if d.ok and not d.store]
        for name, store in self.stores.stores.items():
            if store.kind == "local":
                continue
            jobs = [(d, a) for a in store.access_modes for d in ok
                    if access_applies(d.case, a) and store_applies(d.case, store.kind)]
            bar = progress.phase(f"publish {name}", len(jobs))
            try:
                with ThreadPoolExecutor(4) as ex:
                    for _ in ex.map(lambda job: self.ensure(job[0], store, job[1], settle=False), jobs):
                        bar.advance("ok")
                store.finish_publishing()
                self.stores.record(store)
            finally:
                bar.done()
