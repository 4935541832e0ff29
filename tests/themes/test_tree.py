"""The page tree every installation has, and what Wagtail's publishing gives curators.

The data migration builds the home page and the four theme-library pages; a
flush (or a deleted page) is repaired by ``post_migrate``; drafts stay
private, scheduled exhibitions appear on time through the beat task, and
pages say which parts are Chinese on the English site (WCAG 3.1.2).
"""

from __future__ import annotations

import time
from datetime import timedelta
from importlib import import_module

import pytest
from django.apps import apps as live_apps
from django.core.management import call_command
from django.utils import timezone
from django.utils.translation import override
from wagtail.models import Page, Site

from archive.models import ThemeLibrary
from tests.archive.factories import make_user
from tests.themes.factories import exhibition_make
from themes.models import ExhibitionPage, HomePage, ThemeLibraryPage
from themes.services import page_tree_ensure
from themes.tasks import publish_scheduled_task

pytestmark = pytest.mark.django_db

CODES = ["red", "lingnan", "maritime", "innovation"]


def _tree() -> list[tuple[int, str, str]]:
    return [
        (p.depth, p.url_path, p.specific_class.__name__)
        for p in Page.objects.order_by("path")
    ]


def test_the_migration_built_the_home_page_and_four_theme_libraries():
    home = HomePage.objects.get()
    assert Site.objects.get(is_default_site=True).root_page_id == home.pk
    pages = ThemeLibraryPage.objects.child_of(home).live().order_by("path")
    assert [p.theme.code for p in pages] == CODES
    assert [p.slug for p in pages] == CODES
    assert [p.title for p in pages] == ["紅色文化", "嶺南文化", "海絲文化", "創新文化"]
    # Nothing is left of Wagtail's "Welcome" page, and the tree is sound.
    assert not Page.objects.filter(slug="home-welcome-replaced").exists()
    assert Page.objects.filter(depth=2).count() == 1
    call_command("fixtree", verbosity=0)  # raises on a broken tree
    assert Page.find_problems() == ([], [], [], [], [])


def test_the_migration_function_adds_only_what_is_missing():
    before = _tree()
    migration = import_module("themes.migrations.0002_page_tree")
    migration.build(live_apps, None)
    assert _tree() == before
    # A curator renamed a theme page: a rebuild leaves the edit alone.
    page = ThemeLibraryPage.objects.get(theme__code="red")
    page.title = "紅色文化館"
    page.save_revision().publish()
    ThemeLibraryPage.objects.get(theme__code="maritime").delete()
    created = page_tree_ensure()
    assert created == {"home": 0, "themes": 1}
    assert ThemeLibraryPage.objects.get(theme__code="red").title == "紅色文化館"
    assert ThemeLibraryPage.objects.filter(theme__code="maritime").exists()
    assert Page.find_problems() == ([], [], [], [], [])


@pytest.mark.django_db(transaction=True)
def test_a_flush_is_repaired_by_post_migrate():
    from django.db.models.signals import post_migrate

    from themes.apps import _page_tree_after_migrate

    receivers = [ref() for _key, ref, _is_async in post_migrate.receivers]
    assert _page_tree_after_migrate in receivers
    call_command("flush", interactive=False, verbosity=0)
    # flush sends post_migrate, as after a migration: the tree comes back.
    codes = sorted(ThemeLibrary.objects.values_list("code", flat=True))
    assert codes == sorted(CODES), (
        [
            key
            for key, ref, _ in post_migrate.receivers
            if ref() is _page_tree_after_migrate
        ],
        id(live_apps.get_app_config("themes")),
    )
    assert HomePage.objects.count() == 1
    assert ThemeLibraryPage.objects.count() == 4
    assert Site.objects.get().root_page.specific_class is HomePage
    assert Page.find_problems() == ([], [], [], [], [])


def test_a_draft_is_not_public_and_staff_preview_it(client):
    page = exhibition_make(title="草稿展覽", slug="draft-show", publish=False)
    assert client.get(page.url_path.replace("/home", "", 1)).status_code == 404
    curator = make_user("curator", groups=["Curators"])
    client.force_login(curator)
    preview = client.get(f"/admin/pages/{page.pk}/view_draft/")
    assert preview.status_code == 200
    assert "草稿展覽" in preview.content.decode()


def test_a_scheduled_exhibition_appears_when_beat_runs_after_its_time(client):
    page = exhibition_make(title="定時展覽", slug="scheduled", publish=False)
    go_live = timezone.now() + timedelta(seconds=2)
    page.go_live_at = go_live
    page.save_revision().publish()  # with a go-live time ahead this only schedules it
    assert not ExhibitionPage.objects.get(pk=page.pk).live
    assert publish_scheduled_task.delay().get() == 0
    assert client.get("/lingnan/scheduled/").status_code == 404
    time.sleep(max(0.0, (go_live - timezone.now()).total_seconds()) + 0.2)
    assert publish_scheduled_task.delay().get() == 1
    assert ExhibitionPage.objects.get(pk=page.pk).live
    response = client.get("/lingnan/scheduled/")
    assert response.status_code == 200 and "定時展覽" in response.content.decode()


def test_beat_runs_scheduled_publishing_every_minute():
    from archive.celery import app

    entries = [
        e
        for e in app.conf.beat_schedule.values()
        if e["task"] == "themes.tasks.publish_scheduled_task"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"].minute == set(range(60))


def test_exhibitions_stay_out_of_shared_caches_for_signed_in_visitors(client):
    exhibition_make(slug="cached")
    public = client.get("/lingnan/cached/")
    assert "private" not in public.get("Cache-Control", "")
    assert "Cookie" in public["Vary"]
    client.force_login(make_user("curator", groups=["Curators"]))
    staff = client.get("/lingnan/cached/")
    assert staff["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    ("language", "script", "expected"),
    [
        ("en", "orig", ' lang="zh-Hant"'),
        ("en", "hans", ' lang="zh-Hans"'),
        ("zh-hant", "orig", ""),
        ("zh-hant", "hans", ' lang="zh-Hans"'),
        ("zh-hans", "hans", ""),
    ],
)
def test_chinese_parts_carry_their_language(client, language, script, expected):
    exhibition_make(
        slug="parts",
        summary="茶樓裡的一九三八",
        body=[{"type": "text", "value": "<p>西關的茶樓</p>"}],
    )
    client.cookies["yc_language"] = language
    if script != "orig":
        client.post("/display-script/", {"script": script, "next": "/"})
    with override(language):
        html = client.get("/lingnan/parts/").content.decode()
    assert f'<p class="lead"{expected}>' in html
    assert f'<div class="block-text"{expected}>' in html


def test_curators_edit_exhibitions_and_add_them_under_a_theme_library(client):
    page = exhibition_make(slug="curated")
    parent = ThemeLibraryPage.objects.get(theme__code="lingnan")
    client.force_login(make_user("curator", groups=["Curators"]))
    assert client.get(f"/admin/pages/{page.pk}/edit/").status_code == 200
    add = f"/admin/pages/add/themes/exhibitionpage/{parent.pk}/"
    assert client.get(add).status_code == 200
    # An archivist (no page permissions) is refused the same door.
    client.force_login(make_user("archivist", groups=["Archivists"]))
    assert client.get(f"/admin/pages/{page.pk}/edit/").status_code in (302, 403)
