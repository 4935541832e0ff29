"""Search URLs: the page and the JSON API (DESIGN.md, Public interfaces: stable).

``/search/?q=`` is the page; ``/api/search?q=`` the API (no trailing slash,
as the design lists it); ``/api/openapi.json`` describes the API.
"""

from django.urls import path

from archive.search import views

urlpatterns = [
    path("search/", views.search_page, name="search"),
    path("api/search", views.search_api, name="search_api"),
    path("api/openapi.json", views.search_openapi, name="search_openapi"),
]
