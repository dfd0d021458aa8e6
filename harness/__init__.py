"""zarr-conformance: the cross-implementation conformance harness for Zarr."""

__version__ = "0.1.0"
