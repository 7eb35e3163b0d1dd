# StreamKit: every everyday command. `make help` lists them.
SHELL := /bin/bash

.PHONY: help test test-c test-python test-wheel deps check generate bench lib install wheel fuzz fuzz-short fuzz-build \
	sanitize soak

PREFIX ?= /usr/local
DIST := .build-dist

help:
	@echo "make test      run every test (checks, Swift, C, Python, the wheel without the toolchain); installs what they need"
	@echo "make deps      what the tests need: Debian packages (apt-get, as root), pytest etc. into $(VENV)"
	@echo "make bench     every benchmark against the peers (decode, live, replay, scale, latency): docs/benchmarks.md"
	@echo "make generate  regenerate the channel payload code from scripts/channels_schema.py"
	@echo "make test-c    the C API tests (AddressSanitizer) and the C examples, against the simulator"
	@echo "make test-python  the Python package, pip-installed (not the source tree), and its tests"
	@echo "make test-wheel   the wheel: its tag checked, then installed and streaming with the Swift toolchain hidden (root)"
	@echo "make sanitize  every Swift test under AddressSanitizer + LeakSanitizer, then ThreadSanitizer (~2 min warm, ~9 cold)"
	@echo "make soak      the fault soak: SOAK_SECONDS (default 600) of faults against the simulator, sent vs delivered"
	@echo "make fuzz      the libFuzzer targets (decoder, session engine, WebSocket parser) under ASan, FUZZ_RUNS each (default 10M)"
	@echo "make lib       the self-contained C library: $(DIST)/lib/libstreamkit.so (needs no Swift at run time)"
	@echo "make install   lib, headers and streamkit.pc under PREFIX (default /usr/local)"
	@echo "make wheel     the Python wheel for machines without Swift: $(WHEELS)/streamkit-*-py3-none-manylinux_*.whl"

## What the tests need, installed when missing (scripts/test-deps.sh): Debian packages through apt-get as root
## (otherwise it names them and fails), pytest, websockets and auditwheel into a virtual environment of the
## project's own, $(VENV) (git-ignored); every test below runs its Python.
VENV := $(CURDIR)/.build-py/venv
PYTHON := $(VENV)/bin/python
deps:
	scripts/test-deps.sh $(VENV)

## Every test, as CI runs it: Swift (core, client, simulator), C (API and examples), Python (the package, the CLI
## and simulator from outside, the dependency script), the fuzzers briefly, then the wheel without the toolchain.
test: deps check
	swift build --build-tests
	@# The soak in a process of its own: it bounds its process's RSS growth, and what other suites allocate beside
	@# it (a simulator per test, the market's property runs, the capture tests' zstd contexts) is not the client's.
	@# The capture tests in another, since they allocate megabytes too.
	swift test --skip-build --skip CaptureTests --skip SoakTests
	swift test --skip-build --filter CaptureTests
	swift test --skip-build --filter SoakTests
	$(MAKE) test-c
	$(MAKE) test-python
	$(MAKE) fuzz-short
	STREAMKIT_BIN="$$(swift build --show-bin-path)/streamkit" $(PYTHON) -m pytest -q Tests/python
	$(MAKE) test-wheel

## Fast static checks: generated code is current; every header declaration has its slots; no NIO outside the
## transport.
check:
	python3 scripts/gen_channels.py --check
	python3 scripts/check_header_slots.py
	@# No two tracked paths (files or folders) equal but for case: macOS's and Windows' file systems merge them.
	@git ls-files 2>/dev/null | python3 -c 'import sys, collections; seen = collections.defaultdict(set); \
		[seen[p.lower()].add(p) for line in sys.stdin for parts in [line.rstrip("\n").split("/")] \
		for p in ("/".join(parts[:i]) for i in range(1, len(parts) + 1))]; \
		bad = sorted(v for v in seen.values() if len(v) > 1); \
		sys.exit("paths equal but for case: %s" % bad if bad else 0)'
	@! grep -rln 'import NIO' Sources/StreamKit \
		|| { echo "NIO imported outside the transport (see above)"; exit 1; }

generate:
	python3 scripts/gen_channels.py

## The fault soak (release build): see the README's "Soak" section. SOAK_SECONDS=60 for a short one.
SOAK_SECONDS ?= 600
SOAK_SEED ?= 7
soak:
	swift build -c release --product streamkit
	./.build/release/streamkit soak --duration $(SOAK_SECONDS) --seed $(SOAK_SEED)

## Benchmarks, release mode, side by side in one run; every table goes to docs/benchmarks.md (see the README):
## decode (StreamKit vs JSONDecoder; vs simdjson, RapidJSON, jansson through the C ABI; orjson and json in Python),
## then live over loopback (Swift, C, Python, the provider's Python quick start, Node), replay, scale, latency.
PEERS := .build-peers
bench:
	scripts/bench-deps.sh
	mkdir -p docs $(PEERS)
	swift build -c release
	./.build/release/streamkit-bench --per-channel --abi-library .build/release/libStreamKitABI.so --output docs/benchmarks.md
	./.build/release/streamkit-bench --write-corpus $(PEERS)/corpus.bin
	ln -sf $(CURDIR)/.build/release/libStreamKitABI.so $(PEERS)/libstreamkit.so
	g++ -O3 -march=native -std=c++17 -Iinclude -IBenchmarks/peers Benchmarks/peers/decode_peers.cpp \
		-o $(PEERS)/decode_peers -L$(PEERS) -lstreamkit -lsimdjson -ljansson -Wl,-rpath,$(CURDIR)/$(PEERS)
	./$(PEERS)/decode_peers $(PEERS)/corpus.bin 9 docs/benchmarks.md
	python3 Benchmarks/peers/decode_python.py $(PEERS)/corpus.bin --markdown docs/benchmarks.md
	cc -O2 -Iinclude Benchmarks/peers/live_c.c -o $(PEERS)/live_c -L$(PEERS) -lstreamkit -Wl,-rpath,$(CURDIR)/$(PEERS)
	rm -rf .build-py/bench
	STREAMKIT_LIBRARY=$(CURDIR)/.build/release/libStreamKitABI.so python3 -m pip install -q \
		--disable-pip-version-check --target .build-py/bench ./bindings/python
	@# The builds above leave dirty pages; their writeback during the live runs can steal CPU: flush them first.
	sync; sleep 2
	python3 Benchmarks/live.py --bin .build/release --pysite .build-py/bench --rounds 5 \
		--cbin $(PEERS)/live_c --markdown docs/benchmarks.md

## The C API tests under AddressSanitizer/LeakSanitizer and the C examples, against the debug library (the header
## and the exported symbols are checked against each other first).
test-c: deps
	swift build --product StreamKitABI
	swift build --product streamkit
	Tests/c/run.sh "$$(swift build --show-bin-path)" "$$(swift build --show-bin-path)/streamkit"

## The self-contained C library: Swift runtime linked in, only sk_* exported, stripped. Its own build folder,
## because the static-stdlib flag would otherwise rebuild everything in .build.
lib:
	swift build -c release --product StreamKitABI --scratch-path $(DIST) -Xswiftc -static-stdlib
	mkdir -p $(DIST)/lib
	cp $(DIST)/release/libStreamKitABI.so $(DIST)/lib/libstreamkit.so
	strip --strip-unneeded $(DIST)/lib/libstreamkit.so
	scripts/check_exports.sh $(DIST)/lib/libstreamkit.so

## make install PREFIX=/opt/streamkit: the library, the two API headers and a pkg-config file. Deliberately not
## include/streamkit_python.h: it is the Python binding's private interface (no stable API, may change in any
## version), and the binding needs no header (ctypes, and the wheel carries its own library); installed, C programs
## would come to depend on it. Its functions are still exported: the binding calls them in this same library.
install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(DIST)/lib/libstreamkit.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/streamkit.h include/streamkit_payloads.h $(DESTDIR)$(PREFIX)/include/
	sed -e 's|@PREFIX@|$(PREFIX)|' scripts/streamkit.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/streamkit.pc

## The Python package as a user gets it: pip-installed into a folder (with the debug library, to stay fast) and
## tested from outside the source tree; `pip wheel` is checked to carry the library, tagged linux_x86_64 (the
## debug library needs the toolchain's Swift runtime: no manylinux tag; `make wheel` has the one that is).
PY := .build-py
test-python: deps
	swift build --product StreamKitABI
	rm -rf $(PY)/site $(PY)/wheel
	STREAMKIT_LIBRARY="$$(swift build --show-bin-path)/libStreamKitABI.so" $(PYTHON) -m pip install -q \
		--disable-pip-version-check --target $(PY)/site ./bindings/python
	set -o pipefail; STREAMKIT_LIBRARY="$$(swift build --show-bin-path)/libStreamKitABI.so" $(PYTHON) -m pip wheel \
		-q --disable-pip-version-check --no-deps -w $(PY)/wheel ./bindings/python 2>&1 | { grep -v 'tagged linux_' || true; }
	$(PYTHON) -c "import glob, zipfile, sys; w = glob.glob('$(PY)/wheel/streamkit-*.whl'); \
		sys.exit(0 if len(w) == 1 and w[0].endswith('-py3-none-linux_x86_64.whl') \
		and 'streamkit/libstreamkit.so' in zipfile.ZipFile(w[0]).namelist() \
		else 'the wheel lacks the library or the linux_x86_64 tag of a library needing the toolchain: %s' % w)"
	cd $(PY) && PYTHONPATH=$(CURDIR)/$(PY)/site $(PYTHON) -m pytest -q -p no:cacheprovider $(CURDIR)/bindings/python/tests

## The wheel a Python user without the Swift toolchain installs: make lib's self-contained library inside, tagged
## py3-none-manylinux_X_Y_x86_64, X.Y read from the library's symbol versions by bindings/python/setup.py.
WHEELS := dist
wheel: deps lib
	rm -f $(WHEELS)/streamkit-*.whl
	STREAMKIT_LIBRARY=$(CURDIR)/$(DIST)/lib/libstreamkit.so $(PYTHON) -m pip wheel -q --disable-pip-version-check \
		--no-deps -w $(WHEELS) ./bindings/python
	@ls $(WHEELS)/streamkit-*.whl

## The wheel's tag checked against the library's symbol versions (objdump, auditwheel) and its NEEDED list; then
## installed into a fresh venv with the Swift toolchain hidden (a private mount namespace: root; skipped, saying
## why, otherwise), streaming prices from the package's simulator (Tests/wheel).
test-wheel: wheel
	STREAMKIT_WHEEL="$$(ls $(WHEELS)/streamkit-*.whl)" $(PYTHON) -m pytest -q -rs -p no:cacheprovider Tests/wheel

## Fuzzing (Fuzz/, a package of its own: libFuzzer needs -sanitize=fuzzer). Seeds: the reference's examples.
## Findings are written to .build-fuzz/crash-* and make the run fail; turn each into a regression test.
FUZZ_RUNS ?= 10000000
FUZZ := .build-fuzz
fuzz-build:
	cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address
	python3 Fuzz/seeds.py $(FUZZ)/seeds > /dev/null

fuzz: fuzz-build
	mkdir -p $(FUZZ)/corpus/decoder $(FUZZ)/corpus/session $(FUZZ)/corpus/websocket
	Fuzz/.build/release/FuzzDecoder -runs=$(FUZZ_RUNS) -print_final_stats=1 -artifact_prefix=$(FUZZ)/ \
		$(FUZZ)/corpus/decoder $(FUZZ)/seeds/decoder
	Fuzz/.build/release/FuzzSession -runs=$(FUZZ_RUNS) -print_final_stats=1 -artifact_prefix=$(FUZZ)/ \
		$(FUZZ)/corpus/session $(FUZZ)/seeds/session
	Fuzz/.build/release/FuzzWebSocket -runs=$(FUZZ_RUNS) -print_final_stats=1 -artifact_prefix=$(FUZZ)/ \
		$(FUZZ)/corpus/websocket $(FUZZ)/seeds/websocket

## The short version inside `make test`: a fixed seed, 50 000 inputs per target.
fuzz-short: fuzz-build
	set -o pipefail; Fuzz/.build/release/FuzzDecoder -seed=1 -runs=50000 -artifact_prefix=$(FUZZ)/ $(FUZZ)/seeds/decoder 2>&1 | tail -1
	set -o pipefail; Fuzz/.build/release/FuzzSession -seed=1 -runs=50000 -artifact_prefix=$(FUZZ)/ $(FUZZ)/seeds/session 2>&1 | tail -1
	set -o pipefail; Fuzz/.build/release/FuzzWebSocket -seed=1 -runs=50000 -artifact_prefix=$(FUZZ)/ $(FUZZ)/seeds/websocket 2>&1 | tail -1

## Every Swift test under AddressSanitizer and LeakSanitizer, then under ThreadSanitizer, each in its own build
## folder, in the three processes of `make test` both times: no test's verdict depends on the machine's speed (each waits for
## the event it checks, with a deadline of seconds; the soak ends by rounds of its fault deck, not by time alone),
## so a sanitized build, 5 to 20 times slower, gets the same verdicts. scripts/lsan.supp and scripts/tsan.supp list
## the only suppressions: XCTest's and Foundation's own. RSS growth says nothing under a sanitizer (ASan's
## quarantine holds freed memory, TSan's shadow grows with it), so the soak's bound is raised there; LeakSanitizer
## checks for leaks instead.
sanitize:
	swift build --build-tests --sanitize=address --scratch-path .build-asan
	@# In the three processes of `make test`: the soak keeps both cores busy, and beside it, under a sanitizer's
	@# 5-20x slowdown, the timing tests' simulators miss their seconds-long deadlines (reconnects no test expects).
	for group in "--skip CaptureTests --skip SoakTests" "--filter CaptureTests" "--filter SoakTests"; do \
		LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp STREAMKIT_SOAK_RSS_BOUND_MIB=512 \
			swift test --skip-build --sanitize=address --scratch-path .build-asan $$group || exit 1; \
	done
	swift build --build-tests --sanitize=thread --scratch-path .build-tsan
	for group in "--skip CaptureTests --skip SoakTests" "--filter CaptureTests" "--filter SoakTests"; do \
		TSAN_OPTIONS=halt_on_error=1:suppressions=$(CURDIR)/scripts/tsan.supp STREAMKIT_SOAK_RSS_BOUND_MIB=512 \
			swift test --skip-build --sanitize=thread --scratch-path .build-tsan $$group || exit 1; \
	done
