"""An item's record as simple Dublin Core (``oai_dc``), for preservation packages.

Simple Dublin Core is what every repository and aggregator reads (the OAI-PMH
``oai_dc`` schema); it carries less than ``item.json``, which stays the record
a package is imported from. Each element keeps the source's text and its
known Traditional, Simplified and English forms with ``xml:lang``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from archive.models import Asset, Item, Role
from iiif.identifiers import base_url, manifest_id

OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SCHEMA_LOCATION = f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd"

#: DCMI Type Vocabulary terms of the item kinds.
DCMI_TYPES = {
    Item.Kind.BOOK_VOLUME: "Text",
    Item.Kind.IMAGE_SET: "StillImage",
    Item.Kind.ORAL_HISTORY: "Sound",
    Item.Kind.DOCUMENTARY_VIDEO: "MovingImage",
}
#: Roles of primary responsibility (``dc:creator``); the others are contributors.
CREATOR_ROLES = {
    Role.AUTHOR,
    Role.INTERVIEWEE,
    Role.DIRECTOR,
    Role.PHOTOGRAPHER,
}


def _forms(obj, field: str) -> list[tuple[str, str]]:
    """``(text, language)`` of a field as the source writes it and its other forms.

    The source's own text takes the tag of the form it equals (``zh-Hant``,
    ``zh-Hans``), or none; forms equal to it are not repeated.
    """
    original = getattr(obj, field, "") or ""
    forms = [
        (getattr(obj, f"{field}_hant", "") or "", "zh-Hant"),
        (getattr(obj, f"{field}_hans", "") or "", "zh-Hans"),
    ]
    found: list[tuple[str, str]] = []
    if original:
        found.append((original, next((lang for v, lang in forms if v == original), "")))
    found += [(v, lang) for v, lang in forms if v and v != original]
    english = getattr(obj, f"{field}_en", "") or ""
    if english:
        found.append((english, "en"))
    return found


def dublin_core_xml(*, item: Item) -> bytes:
    """The item's record as an ``oai_dc:dc`` document (UTF-8 XML).

    Args:
        item: the item; its institution, work, agents, places, theme
            libraries and stored originals are read.

    Returns:
        The XML document, with its declaration.
    """
    ET.register_namespace("oai_dc", OAI_DC)
    ET.register_namespace("dc", DC)
    ET.register_namespace("xsi", XSI)
    root = ET.Element(f"{{{OAI_DC}}}dc", {f"{{{XSI}}}schemaLocation": SCHEMA_LOCATION})

    def add(name: str, text: str, lang: str = "") -> None:
        text = (text or "").strip()
        if not text:
            return
        element = ET.SubElement(root, f"{{{DC}}}{name}")
        element.text = text
        if lang:
            element.set(XML_LANG, lang)

    for text, lang in _forms(item, "title"):
        add("title", text, lang)
    links = list(item.item_agents.select_related("agent").order_by("sort_order", "pk"))
    if item.work_id:
        links = (
            list(
                item.work.work_agents.select_related("agent").order_by(
                    "sort_order", "pk"
                )
            )
            + links
        )
    for link in links:
        name = link.agent.name
        if link.agent.dynasty:
            name = f"({link.agent.dynasty}) {name}"
        if link.role == Role.PUBLISHER:
            add("publisher", name)
        else:
            add("creator" if link.role in CREATOR_ROLES else "contributor", name)
    for theme in item.themes.order_by("sort_order"):
        add("subject", theme.name_hant, "zh-Hant")
        add("subject", theme.name_en, "en")
    if item.work_id and item.work.subclass:
        add("subject", item.work.subclass)
    for text, lang in _forms(item, "description"):
        add("description", text, lang)
    add("date", item.date_text)
    if item.year_from is not None:
        years = str(item.year_from)
        if item.year_to is not None and item.year_to != item.year_from:
            years = f"{item.year_from}/{item.year_to}"
        add("date", years)
    add("type", DCMI_TYPES.get(item.kind, ""))
    formats = (
        item.assets.exclude(role=Asset.Role.CONSENT_FORM)
        .exclude(is_personal_data=True)
        .order_by("media_type")
        .values_list("media_type", flat=True)
        .distinct()
    )
    for media_type in formats:
        add("format", media_type)
    add("identifier", item.public_id)
    add("identifier", f"{base_url()}/items/{item.public_id}/")
    add("identifier", item.dadian_ref)
    if item.work_id:
        add("source", item.work.edition)
        for text, lang in _forms(item.work, "title"):
            add("relation", text, lang)
    add("relation", manifest_id(item.public_id))
    for language in item.languages or []:
        add("language", language)
    for place in item.places.order_by("name"):
        for text, lang in _forms(place, "name"):
            add("coverage", text, lang)
    add("rights", item.rights_uri)
    add("rights", item.required_statement)
    add("rights", item.required_statement_en, "en")
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
