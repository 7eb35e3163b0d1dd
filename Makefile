# StreamKit: every everyday command. `make help` lists them.
SHELL := /bin/bash

.PHONY: help test test-c check generate bench lib install

PREFIX ?= /usr/local
DIST := .build-dist

help:
	@echo "make test      run every test (checks, Swift tests, Python tests of the CLI and simulator)"
	@echo "make bench     decode benchmark: StreamKit vs Foundation JSONDecoder, writes docs/benchmarks.md"
	@echo "make generate  regenerate the channel payload code from scripts/channels_schema.py"
	@echo "make test-c    the C API tests (AddressSanitizer) and the C examples, against the simulator"
	@echo "make lib       the self-contained C library: $(DIST)/lib/libstreamkit.so (needs no Swift at run time)"
	@echo "make install   lib, headers and streamkit.pc under PREFIX (default /usr/local)"

## Every test, as CI runs it: Swift (core, client, simulator), C (API and examples), then Python against the
## built `streamkit`.
test: check
	swift build --build-tests
	swift test --skip-build
	$(MAKE) test-c
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

## The C API tests under AddressSanitizer/LeakSanitizer and the C examples, against the debug library (the header
## and the exported symbols are checked against each other first).
test-c:
	swift build --product StreamKitABI
	swift build --product streamkit
	tests/c/run.sh "$$(swift build --show-bin-path)" "$$(swift build --show-bin-path)/streamkit"

## The self-contained C library: Swift runtime linked in, only sk_* exported, stripped. Its own build folder,
## because the static-stdlib flag would otherwise rebuild everything in .build.
lib:
	swift build -c release --product StreamKitABI --scratch-path $(DIST) -Xswiftc -static-stdlib
	mkdir -p $(DIST)/lib
	cp $(DIST)/release/libStreamKitABI.so $(DIST)/lib/libstreamkit.so
	strip --strip-unneeded $(DIST)/lib/libstreamkit.so
	scripts/check_exports.sh $(DIST)/lib/libstreamkit.so

## make install PREFIX=/opt/streamkit: the library, both headers and a pkg-config file.
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(DIST)/lib/libstreamkit.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/streamkit.h include/streamkit_payloads.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/streamkit.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/streamkit.pc
