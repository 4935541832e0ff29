"""The archive's Wagtail admin: one "Archive" menu over the core records.

Each core record gets a model viewset under ``/admin/archive/<model>/``.
Permissions come from the staff groups of migration ``0003_staff_groups``,
narrowed by the policies registered below: archivists and curators reach only
their own institution's items, collections, stored originals and staff
profiles (see ``archive.admin_views``); the four theme libraries and the
stored originals cannot be added or deleted here.
"""

from __future__ import annotations

from django import forms
from django.template.defaultfilters import filesizeformat
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.panels import FieldPanel, MultiFieldPanel, ObjectList
from wagtail.admin.search import SearchArea
from wagtail.admin.ui.tables import Column, DateColumn, UpdatedAtColumn
from wagtail.admin.viewsets.base import ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.permissions import register_permission_policy

from archive import models
from archive.access import is_archive_staff
from archive.admin_views import (
    AgentRolesPanel,
    ArchivePermissionPolicy,
    AssetFilterSet,
    FixityWarningPanel,
    InstitutionScopedPermissionPolicy,
    ItemFilterSet,
    ScopedCreateView,
    ScopedDeleteView,
    ScopedEditView,
    ScopedHistoryView,
    ScopedIndexView,
    ScopedInspectView,
    ScopedUsageView,
    WorkFilterSet,
    fixity_failure_count,
    years_display,
)
from archive.forms import (
    CollectionAdminForm,
    ItemAdminForm,
    StaffProfileAdminForm,
    WorkAdminForm,
)

# Policies must be registered before any view asks for one (Wagtail then
# creates a plain fallback policy and refuses a later registration).
for _model, _field in [
    (models.Item, "institution"),
    (models.Collection, "institution"),
    (models.StaffProfile, "institution"),
]:
    register_permission_policy(
        _model, InstitutionScopedPermissionPolicy(_model, institution_field=_field)
    )
register_permission_policy(
    models.Asset,
    InstitutionScopedPermissionPolicy(
        models.Asset,
        institution_field="item__institution",
        # Originals arrive through ingest, checksummed; the admin never makes
        # or deletes one.
        denied_actions={"add", "delete"},
    ),
)
register_permission_policy(
    models.ThemeLibrary,
    # The four theme libraries are fixed by migration 0002.
    ArchivePermissionPolicy(models.ThemeLibrary, denied_actions={"add", "delete"}),
)
for _model in (models.Work, models.Agent, models.Place, models.Institution):
    register_permission_policy(_model, ArchivePermissionPolicy(_model))


TITLE_PANELS = [
    FieldPanel("title"),
    FieldPanel("title_hant"),
    FieldPanel("title_hans"),
    FieldPanel("title_en"),
]
TITLE_SEARCH = ["title", "title_hant", "title_hans", "title_en"]
NAME_PANELS = [
    FieldPanel("name"),
    FieldPanel("name_hant"),
    FieldPanel("name_hans"),
    FieldPanel("name_en"),
]
NAME_SEARCH = ["name", "name_hant", "name_hans", "name_en"]


def years_column() -> Column:
    """The listing column of a dated record's year range (or "not understood")."""
    return Column(
        "years", label=_("Years"), accessor=years_display, sort_key="year_from"
    )


class ArchiveViewSet(ModelViewSet):
    """A model viewset whose views all go through the model's scoped policy."""

    index_view_class = ScopedIndexView
    add_view_class = ScopedCreateView
    edit_view_class = ScopedEditView
    delete_view_class = ScopedDeleteView
    inspect_view_class = ScopedInspectView
    history_view_class = ScopedHistoryView
    usage_view_class = ScopedUsageView
    inspect_view_enabled = True
    # A copy would carry over unique codes and public identifiers.
    copy_view_enabled = False
    #: Relations the listing shows (see ``ScopedIndexView.list_select_related``).
    list_select_related: tuple[str, ...] = ()

    @property
    def name(self):
        return f"archive_{self.model_name}"

    @property
    def url_prefix(self):
        return f"archive/{self.model_name}"

    def get_index_view_kwargs(self, **kwargs):
        return super().get_index_view_kwargs(
            list_select_related=self.list_select_related, **kwargs
        )


#: Wagtail hook through which other apps add buttons to an item's edit page (the
#: archive imports none of them). Each function is called as ``fn(item, request)``
#: and returns a list of ``wagtail.admin.widgets.HeaderButton``; e.g. the
#: transcription app adds "Transcripts" and "Consent".
ITEM_ADMIN_LINKS_HOOK = "archive_item_admin_links"


class ItemEditView(ScopedEditView):
    """The item's edit page, with the buttons other apps add (``ITEM_ADMIN_LINKS_HOOK``)."""

    @cached_property
    def header_buttons(self):
        buttons = []
        for fn in hooks.get_hooks(ITEM_ADMIN_LINKS_HOOK):
            buttons.extend(fn(self.object, self.request) or [])
        return buttons


class ItemViewSet(ArchiveViewSet):
    model = models.Item
    icon = "doc-full"
    edit_view_class = ItemEditView
    list_display = [
        "title",
        "public_id",
        "kind",
        "institution",
        years_column(),
        "access_level",
        UpdatedAtColumn(label=_("Updated")),
    ]
    filterset_class = ItemFilterSet
    list_select_related = ("institution",)
    search_fields = [*TITLE_SEARCH, "public_id", "dadian_ref"]
    edit_handler = ObjectList(
        [
            MultiFieldPanel(
                [
                    FieldPanel("public_id"),
                    FieldPanel("kind"),
                    FieldPanel("institution"),
                    FieldPanel("collection"),
                    FieldPanel("work"),
                    FieldPanel("volume_number"),
                    FieldPanel("dadian_ref"),
                ],
                heading=_("Identity"),
            ),
            MultiFieldPanel(TITLE_PANELS, heading=_("Title")),
            FieldPanel("date_text"),
            MultiFieldPanel(
                [
                    FieldPanel("description"),
                    FieldPanel("description_hant"),
                    FieldPanel("description_hans"),
                    FieldPanel("description_en"),
                    FieldPanel("languages"),
                    FieldPanel("dialect"),
                ],
                heading=_("Description"),
            ),
            AgentRolesPanel(heading=_("Agents and their roles")),
            MultiFieldPanel(
                [
                    FieldPanel("themes", widget=forms.CheckboxSelectMultiple),
                    FieldPanel("places", widget=forms.CheckboxSelectMultiple),
                ],
                heading=_("Theme libraries and places"),
            ),
            MultiFieldPanel(
                [
                    FieldPanel("rights_uri"),
                    FieldPanel("required_statement"),
                    FieldPanel("required_statement_en"),
                    FieldPanel("access_level"),
                    FieldPanel("embargo_until"),
                    FieldPanel("withdrawn_note"),
                ],
                heading=_("Rights and access"),
            ),
        ],
        base_form_class=ItemAdminForm,
    )


class CollectionViewSet(ArchiveViewSet):
    model = models.Collection
    icon = "folder-inverse"
    list_display = [
        "title",
        "code",
        "institution",
        "parent",
        UpdatedAtColumn(label=_("Updated")),
    ]
    list_select_related = ("institution", "parent")
    list_filter = ["institution", "themes"]
    search_fields = [*TITLE_SEARCH, "code"]
    edit_handler = ObjectList(
        [
            FieldPanel("code"),
            FieldPanel("institution"),
            FieldPanel("parent"),
            MultiFieldPanel(TITLE_PANELS, heading=_("Title")),
            FieldPanel("description"),
            FieldPanel("description_en"),
            FieldPanel("themes", widget=forms.CheckboxSelectMultiple),
        ],
        base_form_class=CollectionAdminForm,
    )


class WorkViewSet(ArchiveViewSet):
    model = models.Work
    icon = "openquote"
    list_display = ["title", "public_id", "bu", "dadian_ref", years_column()]
    filterset_class = WorkFilterSet
    search_fields = [*TITLE_SEARCH, "public_id", "dadian_ref", "edition"]
    edit_handler = ObjectList(
        [
            FieldPanel("public_id"),
            MultiFieldPanel(TITLE_PANELS, heading=_("Title")),
            FieldPanel("date_text"),
            MultiFieldPanel(
                [
                    FieldPanel("bu"),
                    FieldPanel("subclass"),
                    FieldPanel("edition"),
                    FieldPanel("dadian_ref"),
                ],
                heading=_("Classification"),
            ),
            AgentRolesPanel(heading=_("Agents and their roles")),
        ],
        base_form_class=WorkAdminForm,
    )


class AgentViewSet(ArchiveViewSet):
    model = models.Agent
    icon = "user"
    list_display = ["name", "name_en", "kind", "dynasty", "dates"]
    list_filter = ["kind", "dynasty"]
    search_fields = NAME_SEARCH
    panels = [
        FieldPanel("kind"),
        MultiFieldPanel(NAME_PANELS, heading=_("Name")),
        FieldPanel("dynasty"),
        FieldPanel("dates"),
        FieldPanel("description"),
    ]


class PlaceViewSet(ArchiveViewSet):
    model = models.Place
    icon = "globe"
    list_display = ["name", "name_en", "latitude", "longitude"]
    search_fields = NAME_SEARCH
    panels = [
        MultiFieldPanel(NAME_PANELS, heading=_("Name")),
        FieldPanel("latitude"),
        FieldPanel("longitude"),
    ]


class InstitutionViewSet(ArchiveViewSet):
    model = models.Institution
    icon = "home"
    list_display = ["name", "name_en", "code", "kind"]
    list_filter = ["kind"]
    search_fields = [*NAME_SEARCH, "code"]
    panels = [
        FieldPanel("code"),
        MultiFieldPanel(NAME_PANELS, heading=_("Name")),
        FieldPanel("kind"),
        FieldPanel("homepage"),
    ]


class ThemeLibraryViewSet(ArchiveViewSet):
    model = models.ThemeLibrary
    icon = "tag"
    list_display = ["name_hant", "name_en", "code", "sort_order"]
    search_fields = ["name_hant", "name_hans", "name_en", "code"]
    panels = [
        FieldPanel("code", read_only=True),
        FieldPanel("name_hant"),
        FieldPanel("name_hans"),
        FieldPanel("name_en"),
        FieldPanel("introduction_hant"),
        FieldPanel("introduction_hans"),
        FieldPanel("introduction_en"),
        FieldPanel("sort_order"),
    ]


class AssetViewSet(ArchiveViewSet):
    model = models.Asset
    icon = "media"
    menu_label = _("Stored originals")
    list_display = [
        "__str__",
        "item",
        "role",
        "media_type",
        Column(
            "size",
            label=_("Size"),
            accessor=lambda a: filesizeformat(a.size),
            sort_key="size",
        ),
        Column("sha256", label="SHA-256", accessor=lambda a: a.sha256[:16] + "…"),
        "fixity_status",
        DateColumn("last_fixity_at", label=_("Last check"), sort_key="last_fixity_at"),
    ]
    filterset_class = AssetFilterSet
    list_select_related = ("item",)
    search_fields = ["sha256", "original_filename", "item__public_id", "item__title"]
    inspect_view_fields = [
        "item",
        "role",
        "original_filename",
        "sha256",
        "size",
        "media_type",
        "storage_path",
        "received_at",
        "is_personal_data",
        "access_level",
        "fixity_status",
        "last_fixity_at",
    ]
    # Only access and role may change; the bytes and their description never do.
    panels = [
        FieldPanel("item", read_only=True),
        FieldPanel("sha256", read_only=True),
        FieldPanel("size", read_only=True),
        FieldPanel("media_type", read_only=True),
        FieldPanel("fixity_status", read_only=True),
        FieldPanel("last_fixity_at", read_only=True),
        FieldPanel("role"),
        FieldPanel("is_personal_data"),
        FieldPanel("access_level"),
    ]


class StaffProfileViewSet(ArchiveViewSet):
    model = models.StaffProfile
    icon = "group"
    list_display = ["user", "institution"]
    list_select_related = ("user", "institution")
    list_filter = ["institution"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    edit_handler = ObjectList(
        [FieldPanel("user"), FieldPanel("institution")],
        base_form_class=StaffProfileAdminForm,
    )


class ArchiveViewSetGroup(ViewSetGroup):
    """The "Archive" menu."""

    menu_label = _("Archive")
    menu_icon = "folder-open-inverse"
    menu_order = 150
    items = (
        ItemViewSet,
        CollectionViewSet,
        WorkViewSet,
        AgentViewSet,
        PlaceViewSet,
        InstitutionViewSet,
        ThemeLibraryViewSet,
        AssetViewSet,
        StaffProfileViewSet,
    )


@hooks.register("register_admin_viewset")
def register_archive_viewsets():
    return ArchiveViewSetGroup()


@hooks.register("construct_homepage_panels")
def add_fixity_warning(request, panels):
    failures = fixity_failure_count(request.user)
    if failures:
        panels.append(FixityWarningPanel(failures))


# ---------------------------------------------------------------------------
# Search index: the engine's state and full rebuilds (archive.search.admin_views)


@hooks.register("register_admin_urls")
def register_search_index_urls():
    from archive.search import admin_views as search_admin

    return [
        path(
            "search-index/",
            search_admin.search_index,
            name="archive_search_index",
        ),
        path(
            "search-index/rebuild/",
            search_admin.search_index_rebuild,
            name="archive_search_index_rebuild",
        ),
        path(
            "search-index/runs/<int:pk>/progress.json",
            search_admin.run_progress_json,
            name="archive_search_index_progress",
        ),
    ]


class SearchIndexMenuItem(MenuItem):
    """Shown to archive staff only, as the page itself is."""

    def is_shown(self, request):
        return is_archive_staff(request.user)


@hooks.register("register_settings_menu_item")
def register_search_index_menu_item():
    return SearchIndexMenuItem(
        # Translators: admin menu entry (under Settings) for the search index and its rebuilds.
        _("Search index"),
        reverse("archive_search_index"),
        name="search-index",
        icon_name="search",
        order=900,
    )


class ArchiveSearchArea(SearchArea):
    """The archive's own search in the admin's search box: staff find all they may see.

    It opens the public search page; signed in as staff, its scope includes
    restricted, reading-room and embargoed material (``service.scope_for``).
    """

    def is_shown(self, request):
        return is_archive_staff(request.user)


@hooks.register("register_admin_search_area")
def register_archive_search_area():
    return ArchiveSearchArea(
        _("Archive (records, pages, transcripts)"),
        "/search/",
        name="archive",
        icon_name="search",
        order=50,
    )


# ---------------------------------------------------------------------------
# Trust: access requests, grants, reported concerns, the audit log
# (archive.trust_admin)


@hooks.register("register_admin_urls")
def register_trust_urls():
    from archive import trust_admin

    return [
        path(
            "access/requests/", trust_admin.requests_list, name="archive_trust_requests"
        ),
        path(
            "access/requests/<int:pk>/decide/",
            trust_admin.request_decide,
            name="archive_trust_request_decide",
        ),
        path("access/grants/", trust_admin.grants_list, name="archive_trust_grants"),
        path(
            "access/grants/add/", trust_admin.grant_add, name="archive_trust_grant_add"
        ),
        path(
            "access/grants/<int:pk>/revoke/",
            trust_admin.grant_revoke,
            name="archive_trust_grant_revoke",
        ),
        path(
            "access/concerns/", trust_admin.concerns_list, name="archive_trust_concerns"
        ),
        path(
            "access/concerns/<int:pk>/review/",
            trust_admin.concern_review,
            name="archive_trust_concern_review",
        ),
        path("access/audit/", trust_admin.audit_log, name="archive_trust_audit"),
    ]


class PermissionMenuItem(MenuItem):
    """Shown to holders of any of the given permissions, as its page is."""

    def __init__(self, *args, perms: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.perms = perms

    def is_shown(self, request):
        return any(request.user.has_perm(p) for p in self.perms)


@hooks.register("register_admin_menu_item")
def register_trust_menu():
    from wagtail.admin.menu import Menu, SubmenuMenuItem

    items = [
        PermissionMenuItem(
            # Translators: admin menu entry: visitors' requests for access to restricted items.
            _("Access requests"),
            reverse("archive_trust_requests"),
            name="access-requests",
            icon_name="mail",
            order=10,
            perms=("archive.manage_access", "archive.view_accessrequest"),
        ),
        PermissionMenuItem(
            # Translators: admin menu entry: people given time-limited access to restricted items.
            _("Access grants"),
            reverse("archive_trust_grants"),
            name="access-grants",
            icon_name="key",
            order=20,
            perms=("archive.manage_access", "archive.view_accessgrant"),
        ),
        PermissionMenuItem(
            # Translators: admin menu entry: concerns (takedown requests) reported by visitors.
            _("Reported concerns"),
            reverse("archive_trust_concerns"),
            name="concerns",
            icon_name="warning",
            order=30,
            perms=("archive.review_concerns", "archive.view_concernreport"),
        ),
        PermissionMenuItem(
            # Translators: admin menu entry: the log of access changes, grants and views.
            _("Audit log"),
            reverse("archive_trust_audit"),
            name="audit-log",
            icon_name="history",
            order=40,
            perms=("archive.view_audit_log",),
        ),
    ]

    class TrustMenuItem(SubmenuMenuItem):
        def is_shown(self, request):
            return any(item.is_shown(request) for item in items)

    return TrustMenuItem(
        # Translators: admin menu group: access requests, grants, concerns and the audit log.
        _("Access and trust"),
        Menu(items=items),
        name="access-and-trust",
        icon_name="lock",
        order=160,
    )
