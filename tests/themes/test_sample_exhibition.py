"""The sample exhibition ``make demo`` publishes (``manage.py sample_exhibition``)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from themes.models import ExhibitionPage, ThemeLibraryPage
from themes.services_sample import SLUG

pytestmark = pytest.mark.django_db


def _run() -> str:
    out = StringIO()
    call_command("sample_exhibition", stdout=out, stderr=out)
    return out.getvalue()


def test_the_sample_exhibition_is_published_once_with_every_block(
    oral_history_transcript, client
):
    assert "Published" in _run()
    page = ExhibitionPage.objects.get(slug=SLUG)
    assert page.live and page.get_parent().specific.theme.code == "lingnan"
    assert [b.block_type for b in page.body] == [
        "text",
        "iiif_image",
        "quotation",
        "clip",
        "clip",
        "gallery",
        "volume",
    ]
    html = client.get(f"/lingnan/{SLUG}/").content.decode()
    assert "茶樓與讀書聲" in html
    assert "/iiif/3/image/" in html and "/listen/" in html
    assert "block-placeholder" not in html  # every sample item is public
    # The curated selection on the theme page, in order.
    lingnan = ThemeLibraryPage.objects.get(theme__code="lingnan")
    assert [f.item.public_id for f in lingnan.featured_items.all()] == [
        "gzdd-sanzijing-v1",
        "oh-teahouse-1938",
    ]
    # Again: nothing changes.
    revisions = page.revisions.count()
    assert "already" in _run()
    assert ExhibitionPage.objects.filter(slug=SLUG).count() == 1
    assert page.revisions.count() == revisions


def test_without_the_sample_nothing_is_made():
    assert "not loaded" in _run()
    assert not ExhibitionPage.objects.filter(slug=SLUG).exists()
