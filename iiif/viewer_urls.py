"""IIIF viewer URLs."""

urlpatterns: list = []
