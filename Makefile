# The two entry points of the README. Everything else is `zarr-conformance --help`.
.PHONY: run test setup images smoke bench docs clean

# Set up everything and run the default matrix to a report (reports/latest/report.html).
run:
	scripts/bootstrap.sh
	.venv/bin/zarr-conformance run $(ARGS)

# The harness's own test suite (what CI runs).
test:
	scripts/test.sh $(ARGS)

setup:
	scripts/bootstrap.sh
	.venv/bin/zarr-conformance setup

# The engine, the adapters' environments and their container images (--runner docker, docs/containers.md).
images:
	scripts/bootstrap.sh
	scripts/install-docker.sh
	.venv/bin/zarr-conformance setup --runner docker

smoke:
	scripts/bootstrap.sh
	.venv/bin/zarr-conformance run --profile smoke $(ARGS)

bench:
	scripts/bootstrap.sh
	.venv/bin/python bench/workers.py $(ARGS)

docs:
	scripts/bootstrap.sh
	.venv/bin/zarr-conformance docs

clean:
	rm -rf .venv .cache reports/2*
