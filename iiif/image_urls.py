"""IIIF image URLs."""

urlpatterns: list = []
