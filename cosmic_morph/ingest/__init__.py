"""Ingest sources into a Manifest: `ingest(source, store, **kwargs)`.

Each source is one module (`first`, `gz2`, `galaxy10`, `gz1`, `folder`, `nasa`; the shared Galaxy Zoo vote schema is
`gz_votes`) whose entry point registers itself in `SOURCES` with `@register_source(name)`. Importing this package
registers the catalogue sources and the image folder; `cosmic_morph.synthetic` registers `synthetic` when it is
imported."""
from cosmic_morph.ingest.core import SOURCES, register_source, ingest
from cosmic_morph.ingest import first, gz2, galaxy10, gz1, folder   # importing a source module registers it
