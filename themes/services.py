"""Writes of the public page tree.

``page_tree_ensure`` builds the home page and the four theme-library pages.
The data migration ``0002_page_tree`` calls it with the historical models
(so it cannot use treebeard's methods: it writes materialised paths itself,
as Wagtail's own initial migration does), and the ``post_migrate`` handler in
``themes.apps`` calls it with the live models, which puts the tree back after
a test flush. It only adds what is missing: a curator's edits, moves and
extra pages are left alone.
"""

from __future__ import annotations

import logging

from django.apps import apps as live_apps
from django.db.models import Model
from django.utils import timezone

logger = logging.getLogger(__name__)

#: django-treebeard's materialised-path alphabet and step length (Wagtail's Page).
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_STEPLEN = 4


def _step(number: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, len(_ALPHABET))
        digits = _ALPHABET[rest] + digits
    return digits.rjust(_STEPLEN, "0")


def _content_type(apps, app_label: str, model: str):
    ContentType = apps.get_model("contenttypes", "ContentType")
    return ContentType.objects.get_or_create(app_label=app_label, model=model)[0]


def _locale(apps):
    from django.conf import settings
    from wagtail.coreutils import get_supported_content_language_variant

    Locale = apps.get_model("wagtailcore", "Locale")
    code = get_supported_content_language_variant(settings.LANGUAGE_CODE)
    return Locale.objects.get_or_create(language_code=code)[0]


def _add_child(apps, parent, model, **fields):
    """Append a live page of ``model`` under ``parent`` (treebeard path by hand)."""
    Page = apps.get_model("wagtailcore", "Page")
    last = (
        Page.objects.filter(path__startswith=parent.path, depth=parent.depth + 1)
        .order_by("-path")
        .values_list("path", flat=True)
        .first()
    )
    number = int(last[-_STEPLEN:], len(_ALPHABET)) + 1 if last else 1
    now = timezone.now()
    page = model(
        path=parent.path + _step(number),
        depth=parent.depth + 1,
        numchild=0,
        url_path=f"{parent.url_path}{fields['slug']}/",
        draft_title=fields["title"],
        live=True,
        has_unpublished_changes=False,
        first_published_at=now,
        last_published_at=now,
        locale_id=parent.locale_id,
        content_type=_content_type(apps, model._meta.app_label, model._meta.model_name),
        **fields,
    )
    _plain_save(page)
    Page.objects.filter(pk=parent.pk).update(numchild=parent.numchild + 1)
    parent.numchild += 1
    return page


def _plain_save(page) -> None:
    """Save without Page.save's validation and tree hooks (the path is already set).

    Historical models have no such hooks; live ones would re-derive the
    url_path from a parent lookup, which is what we set here anyway.
    """
    Model.save(page)


def page_tree_ensure(*, apps=None) -> dict[str, int]:
    """Make the root, the home page, the site and the theme-library pages if missing.

    Returns counts of what was created (``{"home": 0|1, "themes": n}``).
    """
    apps = apps or live_apps
    Page = apps.get_model("wagtailcore", "Page")
    Site = apps.get_model("wagtailcore", "Site")
    HomePage = apps.get_model("themes", "HomePage")
    ThemeLibraryPage = apps.get_model("themes", "ThemeLibraryPage")
    ThemeLibrary = apps.get_model("archive", "ThemeLibrary")
    created = {"home": 0, "themes": 0}

    root = Page.objects.filter(depth=1).order_by("path").first()
    if root is None:
        locale = _locale(apps)
        root = Page(
            title="Root",
            draft_title="Root",
            slug="root",
            path=_step(1),
            depth=1,
            numchild=0,
            url_path="/",
            live=True,
            locale_id=locale.pk,
            content_type=_content_type(apps, "wagtailcore", "page"),
        )
        _plain_save(root)

    home = HomePage.objects.order_by("path").first()
    if home is None:
        # Wagtail's initial migration leaves a plain "Welcome" page as the
        # site root: replace it when it has nothing under it.
        welcome = Page.objects.filter(
            depth=2,
            slug="home",
            numchild=0,
            content_type=_content_type(apps, "wagtailcore", "page"),
        ).first()
        if welcome is not None:
            welcome.slug = "home-welcome-replaced"
            _plain_save(welcome)
        home = _add_child(
            apps,
            root,
            HomePage,
            title="粵藏 Yuecang",
            slug="home",
            introduction=(
                "廣州大典的書影、粵語口述歷史與紀錄片，"
                "分列紅色文化、嶺南文化、海絲文化、創新文化四個主題館。"
            ),
            introduction_en=(
                "Scans of the Guangzhou Dadian, Cantonese oral histories and "
                "documentary film, in four theme libraries."
            ),
        )
        created["home"] = 1
        Site.objects.filter(root_page_id=getattr(welcome, "pk", None)).update(
            root_page_id=home.pk
        )
        if welcome is not None:
            Page.objects.filter(pk=welcome.pk).delete()
            Page.objects.filter(pk=root.pk).update(numchild=root.numchild - 1)
            root.numchild -= 1
    if not Site.objects.exists():
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page_id=home.pk,
            is_default_site=True,
            site_name="粵藏 Yuecang",
        )

    home = Page.objects.get(pk=home.pk)
    for theme in ThemeLibrary.objects.order_by("sort_order", "code"):
        if ThemeLibraryPage.objects.filter(theme_id=theme.pk).exists():
            continue
        slug = theme.code
        if Page.objects.filter(
            path__startswith=home.path, depth=home.depth + 1, slug=slug
        ).exists():
            logger.warning("page tree: slug %r taken under the home page", slug)
            continue
        _add_child(
            apps,
            home,
            ThemeLibraryPage,
            title=theme.name_hant,
            slug=slug,
            theme_id=theme.pk,
        )
        created["themes"] += 1
    return created


def scheduled_pages_publish() -> int:
    """Publish the revisions whose go-live time has come; unpublish expired pages.

    Wagtail keeps scheduled publishing in the database and leaves running it
    to a periodic job (its ``publish_scheduled`` command); beat runs this every
    minute so a curator's scheduled exhibition appears on time without cron.

    Returns:
        How many pages and revisions were due (published or unpublished).
    """
    from django.core.management import call_command
    from wagtail.models import Page, Revision

    now = timezone.now()
    due = (
        Revision.objects.filter(approved_go_live_at__lte=now).count()
        + Page.objects.filter(live=True, expire_at__lt=now).count()
    )
    if due:
        call_command("publish_scheduled", verbosity=0)
    return due


#: Wagtail page permissions of the staff groups, held on the home page and so
#: over the whole public tree: curators build and publish exhibitions and
#: edit the theme-library pages; central library staff may do the same.
PAGE_PERMISSIONS = {
    "Curators": ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"],
    "Central library staff": [
        "add_page",
        "change_page",
        "publish_page",
        "lock_page",
        "unlock_page",
    ],
}


def page_permissions_ensure(*, apps=None) -> int:
    """Give the staff groups that exist their page permissions on the home page.

    Returns:
        How many permissions were added.
    """
    apps = apps or live_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    home = apps.get_model("themes", "HomePage").objects.order_by("path").first()
    if home is None:
        return 0
    added = 0
    for name, codenames in PAGE_PERMISSIONS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        for permission in Permission.objects.filter(
            content_type__app_label="wagtailcore",
            content_type__model="page",
            codename__in=codenames,
        ):
            _, made = GroupPagePermission.objects.get_or_create(
                group_id=group.pk, page_id=home.pk, permission_id=permission.pk
            )
            added += made
    return added
