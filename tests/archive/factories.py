"""factory_boy factories for the archive's core records."""

from __future__ import annotations

import io

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from archive import models


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Institution
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"lib-{n}")
    name = factory.Sequence(lambda n: f"區圖書館 {n}")
    name_en = factory.Sequence(lambda n: f"District Library {n}")
    kind = models.Institution.Kind.DISTRICT


class CentralInstitutionFactory(InstitutionFactory):
    code = "gzlib"
    name = "廣州圖書館"
    name_en = "Guangzhou Library"
    kind = models.Institution.Kind.CENTRAL


class CollectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Collection

    code = factory.Sequence(lambda n: f"col-{n}")
    title = factory.Sequence(lambda n: f"典藏 {n}")
    institution = factory.SubFactory(InstitutionFactory)


class WorkFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Work

    title = "三字經"
    title_hans = "三字经"
    title_en = "Three Character Classic"
    bu = models.Work.Bu.JING


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = models.Item

    kind = models.Item.Kind.BOOK_VOLUME
    title = factory.Sequence(lambda n: f"廣州大典 第{n}冊")
    institution = factory.SubFactory(InstitutionFactory)
    rights_uri = "http://rightsstatements.org/vocab/NoC-NC/1.0/"
    required_statement = "廣州圖書館藏"
    access_level = models.AccessLevel.PUBLIC


def jpeg_bytes(width: int = 64, height: int = 96, color=(200, 180, 150)) -> bytes:
    """A small JPEG made in memory."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "JPEG")
    return buf.getvalue()


def make_user(
    username: str, *, groups=(), institution=None, superuser=False, password="pw"
):
    """Create a user in the named groups, with a staff profile at ``institution``."""
    user_model = get_user_model()
    if superuser:
        user = user_model.objects.create_superuser(
            username, f"{username}@example.org", password
        )
    else:
        user = user_model.objects.create_user(
            username, f"{username}@example.org", password
        )
    if groups:
        staff_groups_ensure()
    for name in groups:
        user.groups.add(Group.objects.get(name=name))
    if institution is not None:
        models.StaffProfile.objects.create(user=user, institution=institution)
    return user


#: Migrations whose data (staff groups and their permissions) a transactional
#: test's flush removes; their GROUPS tables say what to put back.
GROUP_MIGRATIONS = {
    "archive": "archive.migrations.0003_staff_groups",
    "ingest": "ingest.migrations.0002_ingest_permissions",
    "transcription": "transcription.migrations.0002_editor_permissions",
    "archive-trust": "archive.migrations.0010_trust_permissions",
}


def staff_groups_ensure() -> None:
    """Re-create the staff groups a ``transaction=True`` test's flush removed.

    The permissions themselves come back after a flush (post_migrate); the
    groups of the data migrations do not.
    """
    import importlib

    from django.contrib.auth.models import Permission

    if Group.objects.filter(name="Archivists").exists():
        return
    from django.contrib.contenttypes.models import ContentType

    # Wagtail creates its admin permission in a data migration, which a flush removes too.
    admin_type, _ = ContentType.objects.get_or_create(
        app_label="wagtailadmin", model="admin"
    )
    Permission.objects.get_or_create(
        content_type=admin_type,
        codename="access_admin",
        defaults={"name": "Can access Wagtail admin"},
    )
    for app_label, module in GROUP_MIGRATIONS.items():
        groups = importlib.import_module(module).GROUPS
        for name, spec in groups.items():
            group, _ = Group.objects.get_or_create(name=name)
            by_app = spec if isinstance(spec, dict) else {app_label: spec}
            for label, codenames in by_app.items():
                group.permissions.add(
                    *Permission.objects.filter(
                        content_type__app_label=label, codename__in=codenames
                    )
                )
    # Their Wagtail page permissions (themes.migrations.0005), on the home page.
    from themes.services import page_permissions_ensure

    page_permissions_ensure()
