"""IIIF presentation URLs."""

urlpatterns: list = []
