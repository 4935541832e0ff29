"""The OpenAPI 3.1 document of the search API (``/api/search``), served at ``/api/openapi.json``.

Kept beside the view it describes, as Python data, so the limits it states
(:data:`archive.search.service.MAX_PER_PAGE`, the sorts and facet fields)
are the code's own. docs/search-api.md explains it with examples; the tests
check real answers against its schemas.
"""

from __future__ import annotations

from archive.search.engine import DOC_TYPES, FACET_FIELDS, SORTS
from archive.search.query import WARNING_CODES
from archive.search.service import MAX_PAGE, MAX_PER_PAGE

#: The version of the API this document describes (not of the OpenAPI format).
API_VERSION = "1.0.0"

_FILTER_HELP = {
    "type": "Document type: " + ", ".join(DOC_TYPES) + ".",
    "kind": (
        "Kind of record: an item kind code (oral_history, book_volume, "
        "documentary_video, image_set ...), or work, exhibition. Labels in any "
        "UI language are accepted too."
    ),
    "theme": "Theme library code (lingnan, red, maritime, ...) or its name.",
    "decade": "First year of a decade, e.g. 1930.",
    "place": "Place name, in either script (廣州 = 广州).",
    "dialect": "Dialect of a recording, e.g. 廣州話.",
    "collection": "Collection code (e.g. oral-history) or its title.",
}


def _nullable(schema: dict) -> dict:
    kind = schema["type"]
    return {**schema, "type": [kind, "null"]}


def _schemas() -> dict:
    string = {"type": "string"}
    return {
        "SnippetPart": {
            "type": "object",
            "description": "A run of snippet text; hit is true where the query matched.",
            "required": ["text", "hit"],
            "properties": {"text": string, "hit": {"type": "boolean"}},
            "additionalProperties": False,
        },
        "Hit": {
            "type": "object",
            "description": (
                "One result. Text is as stored (the 繁/简 display switch of the "
                "site does not apply). Fields that do not apply to the hit's "
                "type are null."
            ),
            "required": [
                "id",
                "type",
                "type_label",
                "title",
                "url",
                "item",
                "snippet",
                "snippet_parts",
                "start",
                "end",
                "time_label",
                "speaker",
                "page",
                "page_label",
                "image",
                "kind",
                "date",
                "themes",
            ],
            "properties": {
                "id": {
                    "type": "string",
                    "description": (
                        "The hit's key in the index (type:identifier), unique "
                        "in one answer; stable while the record is unchanged."
                    ),
                },
                "type": {"type": "string", "enum": list(DOC_TYPES)},
                "type_label": {
                    "type": "string",
                    "description": "The type in the UI language.",
                },
                "title": string,
                "url": {
                    "type": "string",
                    "format": "uri",
                    "description": (
                        "Absolute URL of the hit: the item page; a recording "
                        "segment's with ?t=SECONDS (plays from there); a book "
                        "page's with #page=N (opens the viewer there)."
                    ),
                },
                "item": _nullable(
                    {"type": "string", "description": "The item's public id."}
                ),
                "snippet": {
                    "type": "string",
                    "description": (
                        "HTML: the text around the hits, HTML-escaped, with each "
                        "hit in <mark>…</mark>."
                    ),
                },
                "snippet_parts": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/SnippetPart"},
                },
                "start": _nullable(
                    {"type": "number", "description": "Segment start, seconds."}
                ),
                "end": _nullable(
                    {"type": "number", "description": "Segment end, seconds."}
                ),
                "time_label": _nullable(
                    {"type": "string", "description": "Segment start as M:SS."}
                ),
                "speaker": _nullable(string),
                "page": _nullable(
                    {"type": "integer", "description": "Page sequence, from 1."}
                ),
                "page_label": _nullable(string),
                "image": _nullable(
                    {
                        "type": "string",
                        "description": (
                            "The page image's id in the IIIF Image API "
                            "(/iiif/3/image/{image}/info.json)."
                        ),
                    }
                ),
                "kind": _nullable(string),
                "date": _nullable(
                    {"type": "integer", "description": "Year, for sorting."}
                ),
                "themes": {"type": "array", "items": string},
            },
        },
        "FacetValue": {
            "type": "object",
            "required": ["value", "label", "count", "selected"],
            "properties": {
                "value": {
                    "type": "string",
                    "description": "Give it back as the facet's parameter to filter.",
                },
                "label": {"type": "string", "description": "In the UI language."},
                "count": {"type": "integer", "minimum": 0},
                "selected": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "Warning": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": list(WARNING_CODES)},
                "message": {"type": "string", "description": "In the UI language."},
            },
            "additionalProperties": False,
        },
        "SearchResponse": {
            "type": "object",
            "required": [
                "query",
                "sort",
                "filters",
                "total",
                "page",
                "per_page",
                "pages",
                "hits",
                "facets",
                "suggestions",
                "warnings",
            ],
            "properties": {
                "query": {"type": "string", "description": "q, as given."},
                "sort": {"type": "string", "enum": list(SORTS)},
                "filters": {
                    "type": "object",
                    "description": "The filter parameters given, by field.",
                    "additionalProperties": {"type": "array", "items": string},
                },
                "total": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Hits the reader may see, over all pages.",
                },
                "page": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE},
                "per_page": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PER_PAGE,
                },
                "pages": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": MAX_PAGE,
                    "description": f"Pages of hits (at most {MAX_PAGE}).",
                },
                "hits": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Hit"},
                },
                "facets": {
                    "type": "object",
                    "description": "Counts over every hit (not only this page).",
                    "propertyNames": {"enum": list(FACET_FIELDS)},
                    "additionalProperties": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/FacetValue"},
                    },
                },
                "suggestions": {
                    "type": "array",
                    "description": (
                        "When nothing was found: other forms of q to try (the "
                        "other script, the Jyutping reading)."
                    ),
                    "items": string,
                },
                "warnings": {
                    "type": "array",
                    "description": "What in q could not be used as written.",
                    "items": {"$ref": "#/components/schemas/Warning"},
                },
            },
            "additionalProperties": False,
        },
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {
                    "type": "string",
                    "enum": ["invalid_parameter", "unavailable", "method_not_allowed"],
                },
                "message": {"type": "string", "description": "In English."},
                "parameters": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["parameter", "message"],
                        "properties": {"parameter": string, "message": string},
                    },
                },
            },
        },
    }


def _parameters() -> list[dict]:
    parameters = [
        {
            "name": "q",
            "in": "query",
            "description": (
                "The query, in the search box's language: words (all required), "
                '"phrases", -excluded, and filters such as kind:oral_history '
                "place:廣州 decade:1930s. Traditional and Simplified match alike; "
                "Jyutping (gwong2 zau1, gwongzau) finds Chinese text. At most "
                "1000 characters (the first 500 are searched)."
            ),
            "schema": {"type": "string", "maxLength": 1000},
            "examples": {
                "place": {"value": "廣州"},
                "jyutping": {"value": "gwongzau"},
                "filtered": {"value": "茶樓 -飲茶 kind:oral_history"},
            },
        },
    ]
    for name in FACET_FIELDS:
        item: dict = {"type": "string", "maxLength": 200}
        if name == "type":
            item = {"type": "string", "enum": list(DOC_TYPES)}
        elif name == "decade":
            item = {"type": "string", "pattern": r"^-?\d*0$"}
        parameters.append(
            {
                "name": name,
                "in": "query",
                "description": _FILTER_HELP[name]
                + " Repeat for any of several values (at most 10).",
                "schema": {"type": "array", "items": item, "maxItems": 10},
                "style": "form",
                "explode": True,
            }
        )
    parameters += [
        {
            "name": "item",
            "in": "query",
            "description": (
                "Search inside one item (its public identifier, as in /items/{item}/): "
                "a volume's pages, a recording's transcript."
            ),
            "schema": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
            },
            "example": "oh-teahouse-1938",
        },
        {
            "name": "sort",
            "in": "query",
            "description": "relevance (default), date (oldest first), -date (newest first).",
            "schema": {"type": "string", "enum": list(SORTS), "default": "relevance"},
        },
        {
            "name": "page",
            "in": "query",
            "description": f"Page of hits, from 1 to {MAX_PAGE}.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PAGE,
                "default": 1,
            },
        },
        {
            "name": "per_page",
            "in": "query",
            "description": f"Hits per page, from 1 to {MAX_PER_PAGE}.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PER_PAGE,
                "default": 20,
            },
        },
    ]
    return parameters


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        },
    }


def openapi_document(*, server: str = "") -> dict:
    """The OpenAPI 3.1 description of ``/api/search``.

    Args:
        server: the site's absolute base URL (no trailing slash), for
            ``servers``; empty leaves it out (paths are then relative).
    """
    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "粵藏 Yuecang search API",
            "version": API_VERSION,
            "summary": "Search the Guangzhou heritage digital archive.",
            "description": (
                "Full-text search over oral-history transcripts (each hit a "
                "timed segment), Guangzhou Dadian page text, catalogue records, "
                "works and exhibitions, with facets and highlighted snippets. "
                "Anonymous callers see public records; signed-in staff and "
                "reading-room visitors see what they may. CORS is open. "
                "Labels follow the UI language (Accept-Language or the "
                "site's language cookie: zh-Hant, zh-Hans, en); text is as "
                "stored. See docs/search-api.md."
            ),
            "license": {
                "name": "AGPL-3.0-or-later",
                "identifier": "AGPL-3.0-or-later",
            },
        },
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Search the archive",
                    "parameters": _parameters(),
                    "responses": {
                        "200": {
                            "description": (
                                "The hits of one page, with facet counts over "
                                "all hits. Cache-Control is public, max-age=60 "
                                "for anonymous callers outside the reading room, "
                                "else private, no-store."
                            ),
                            "headers": {
                                "Access-Control-Allow-Origin": {
                                    "schema": {"type": "string", "const": "*"}
                                },
                                "Cache-Control": {"schema": {"type": "string"}},
                            },
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "$ref": "#/components/schemas/SearchResponse"
                                    }
                                }
                            },
                        },
                        "400": _error(
                            "A parameter is malformed or out of range (page "
                            f"beyond {MAX_PAGE}, per_page beyond {MAX_PER_PAGE}, "
                            "an unknown sort or type, a bad decade)."
                        ),
                        "405": _error("A method other than GET, HEAD or OPTIONS."),
                        "503": _error(
                            "The search engine is not answering; retry after "
                            "the Retry-After header's seconds."
                        ),
                    },
                }
            }
        },
        "components": {"schemas": _schemas()},
    }
    if server:
        document["servers"] = [{"url": server}]
    return document
