"""Store check: is a remote store answering the objects of a published dataset as they were published?

A reader that fails on a remote store may be failing because of the store: in a
stores run, Azurite answered 500 for one chunk object to every reader, on every
read, and the same dataset passed on a fresh Azurite. Charging five readers with
that would be a harness verdict on the wrong party.

So when a cell's outcome is unexpected on a remote store, every object of its
dataset is read back with the store's own credentials and compared with the
dataset on disk. An object answered wrongly (an error status, other bytes) is
published again and the check is made once more:

- the store now answers right: the cell is read again (`repaired` says what was
  wrong), and its new outcome is its verdict;
- it still answers wrong: the cell is labelled as reading from a faulty store
  (`fault` says what the store answered), not counted against the reader.

A check is made once per dataset, store and access mode. The object denied on
purpose in `forbidden-chunk` is not compared (its 403 is the point).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from .generate import Dataset
from .publish import Publisher, dataset_key
from .stores import Store


@dataclass(frozen=True)
class StoreVerdict:
    fault: str = ""  # what the store still answers wrongly after publishing again ("": nothing)
    repaired: str = ""  # what it answered wrongly before publishing again ("": nothing was wrong)


def wrong_objects(store: Store, ds: Dataset, access: str, skip: str | None = None, limit: int = 3) -> list[str]:
    """What the store answers wrongly for the dataset's objects, at most `limit` of them."""
    key, root = dataset_key(ds), Path(ds.path)
    wrong = []
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        rel = p.relative_to(root).as_posix()
        if rel == skip:
            continue
        status, body = store.fetch(key, rel, access)
        if status != 200:
            text = body[:160].decode("utf-8", "replace").strip().replace("\n", " ")
            wrong.append(f"{rel}: HTTP {status or 'no answer'}" + (f" ({text})" if text else ""))
        elif body != p.read_bytes():
            wrong.append(f"{rel}: {len(body)} bytes that differ from the {p.stat().st_size} published")
        if len(wrong) >= limit:
            break
    return wrong


class StoreCheck:
    def __init__(self, publisher: Publisher):
        self.publisher = publisher
        self._lock = threading.Lock()
        self._locks: dict[tuple, threading.Lock] = {}
        self._verdicts: dict[tuple, StoreVerdict] = {}

    @staticmethod
    def applies(store: Store, ds: Dataset | None) -> bool:
        """Only datasets the harness published itself into a remote store (not native writes)."""
        # A source case's objects are byte ranges of its source file, not files of its own to compare.
        return ds is not None and ds.ok and not ds.store and store.kind != "local" and not ds.case.source

    def check(self, ds: Dataset, store: Store, access: str) -> StoreVerdict:
        key = (ds.writer.id, ds.case.id, store.name, access)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._verdicts:
                self._verdicts[key] = self._check(ds, store, access)
            return self._verdicts[key]

    def _check(self, ds: Dataset, store: Store, access: str) -> StoreVerdict:
        skip = self.publisher.denied_key(ds) if access == "forbidden-chunk" else None
        wrong = wrong_objects(store, ds, access, skip)
        if not wrong:
            return StoreVerdict()
        before = f"{store.name} ({store.version()}, {access}) answered " + "; ".join(wrong)
        store.publish(ds.path, dataset_key(ds), access)  # the deny of forbidden-chunk is already in force
        still = wrong_objects(store, ds, access, skip)
        if still:
            return StoreVerdict(fault=f"{store.name} ({store.version()}, {access}) still answers "
                                      + "; ".join(still) + " after the dataset was published again")
        return StoreVerdict(repaired=before + "; published again, it answers right")
