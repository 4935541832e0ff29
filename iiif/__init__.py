"""The ``iiif`` app of 粵藏 Yuecang (see docs/architecture.md)."""
