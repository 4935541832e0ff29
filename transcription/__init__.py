"""The ``transcription`` app of 粵藏 Yuecang (see docs/architecture.md)."""
