"""Preservation: BagIt packages of items, and backups of the whole installation.

* ``bag_export``: an item as a BagIt package (originals, records as JSON and
  Dublin Core, transcripts, the IIIF manifest, SHA-256 and SHA-512 manifests);
  ``manage.py export_bag``.
* ``bag_import``: a package back into an archive with the same identifiers
  and checksums, checked before anything is written; ``manage.py import_bag``.
* ``installation``: the database (SQLite's online backup API, or PostgreSQL's
  ``pg_dump``/``pg_restore``) plus the stored files with a SHA-256 manifest,
  verified before a restore; ``manage.py backup`` and ``manage.py restore``.
* ``records``: records as JSON and back, every field by name.

See docs/preservation.md.
"""
