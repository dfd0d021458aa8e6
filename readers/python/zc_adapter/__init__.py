"""Python adapters of the Zarr conformance harness (protocol v1)."""
