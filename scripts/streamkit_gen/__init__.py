"""StreamKit's code generator: scripts/channels_schema.py and scripts/tables_schema.py into every face.

  model.py   loads and checks both schemas; derives every name, number and type mapping more than one face uses.
  swift.py   renders the Swift files from the model.
  c.py       renders the C headers (whole files and the generated regions of include/streamkit.h).
  python.py  renders the Python package's generated modules.
  output.py  collects what the renderers produce; writes it, or compares it with the files (--check).
  cli.py     the command line of scripts/gen_channels.py."""
