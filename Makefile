# StreamKit: every everyday command. `make help` lists them.
SHELL := /bin/bash

.PHONY: help test check generate bench

help:
	@echo "make test      run every test (checks, Swift tests, Python tests of the CLI and simulator)"
	@echo "make bench     decode benchmark: StreamKit vs Foundation JSONDecoder, writes docs/benchmarks.md"
	@echo "make generate  regenerate the channel payload code from scripts/channels_schema.py"

## Every test, as CI runs it: Swift (core, client, simulator), then Python against the built `streamkit`.
test: check
	swift build --build-tests
	swift test --skip-build
	STREAMKIT_BIN="$$(swift build --show-bin-path)/streamkit" python3 -m pytest -q tests/python

## Fast static checks: generated code is current; no NIO outside the transport.
check:
	python3 scripts/gen_channels.py --check
	@! grep -rln 'import NIO' Sources/StreamKit \
		|| { echo "NIO imported outside the transport (see above)"; exit 1; }

generate:
	python3 scripts/gen_channels.py

## Release-mode decode benchmark; the table also goes to docs/benchmarks.md.
bench:
	mkdir -p docs
	swift build -c release --product streamkit-bench
	./.build/release/streamkit-bench --per-channel --output docs/benchmarks.md
