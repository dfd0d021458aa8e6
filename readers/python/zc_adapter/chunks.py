"""Chunk grid helpers shared by the backends."""

from __future__ import annotations

import itertools


def chunk_regions(shape, chunks, missing=()):
    """Slices of every chunk of the regular grid, in C order, except the missing ones.
    Writers write region by region so that the chunks a case lists as missing are never stored."""
    missing = {tuple(m) for m in missing}
    grid = [-(-s // c) for s, c in zip(shape, chunks)]
    for idx in itertools.product(*[range(g) for g in grid]):
        if idx not in missing:
            yield tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))


def write_present_chunks(arr, case: dict, data) -> None:
    """arr[region] = data[region] for every chunk that is not missing (one assignment when none is)."""
    missing = case.get("missing_chunks") or ()
    if not missing:
        arr[tuple(slice(0, s) for s in case["shape"])] = data
        return
    for region in chunk_regions(case["shape"], case["chunks"], missing):
        arr[region] = data[region]
