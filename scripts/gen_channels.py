#!/usr/bin/env python3
"""Writes the code that restates scripts/channels_schema.py and scripts/tables_schema.py in every face, so each
schema stays the one table of what it describes. The generator itself is scripts/streamkit_gen/.

Usage: python3 scripts/gen_channels.py [--check] [--allow-renumber]
  --check           exit 1 if the generated files differ from what is committed (CI runs this).
  --allow-renumber  let a schema change drop or renumber a constant of the C headers (breaks the C ABI).

Outputs:
  Sources/StreamKit/Channels/Generated/*.swift  the payload types. Each payload becomes a struct that stores its
      fields unboxed plus two bit sets (present, null; a null bit without its present bit marks a field of the
      wrong JSON type), with a getter per field under its wire key and, where the
      meaning is known, a descriptive alias; a `Field` enum for generic access; and a schema-specialised decoder
      that matches keys of up to 8 bytes as one 64-bit integer.
  Sources/StreamKitTestSupport/Generated/FoundationMirrors.swift  the same payloads as JSONDecoder `Decodable`s.
  Benchmarks/streamkit-bench/Generated/PayloadChecksums.swift  checksums through the typed getters.
  include/streamkit_payloads.h  each payload as a plain C struct (members named by wire keys), the channel, enum
      and window constants, field bit macros and the `sk_payload` union, for the C ABI. Its constants are
      append-only: the generator refuses a schema that drops or renumbers one.
  Sources/CABI/Generated/CPayloads.swift  Swift that fills those C structs from the Swift payloads (from a
      `Payload` or in place from a `DecodedFrame`) without allocating.
  bindings/python/streamkit/_payloads.py  the same C structs as ctypes classes, and the field tables the Python
      package builds its payload classes from.
  Benchmarks/peers/schema_gen.h  the field tables the peer decoders of the benchmark (simdjson, RapidJSON,
      jansson, Python) walk, and the same checksum over the C ABI's structs.
From scripts/tables_schema.py:
  include/streamkit.h  the regions between `<tables:NAME>` markers: the version macros, sk_status, sk_event,
      sk_disconnect_reason, sk_fault and the SK_DEFAULT_* macros (the rest of the header is written by hand). Their constants are
      append-only too.
  Sources/StreamKit/Generated/Tables.swift  StreamKitVersion, StreamKitStatus (the status table with its texts),
      the fault kinds' numbers by name (SimulatorFault.kinds builds each kind from its name), DisconnectReason's
      `number` and `name`, StreamKitDefaults.
  Sources/CABI/Generated/CTables.swift  sk_version, sk_status_string, sk_event's names.
  bindings/python/streamkit/_tables.py  VERSION, VERSION_NUMBER, the SK_* statuses, EVENTS, FAULTS,
      DISCONNECT_REASONS, DEFAULTS.
  bindings/python/streamkit/_errors.py  one exception class per status, and BY_STATUS.
  bindings/python/pyproject.toml, scripts/streamkit.pc.in  their version lines."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from streamkit_gen.cli import main  # noqa: E402

if __name__ == "__main__":
    main(sys.argv[1:])
