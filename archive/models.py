"""The archive's core records.

Archival objects are plain Django models (STYLE.md §2); editors reach them
through Wagtail viewsets in ``wagtail_hooks.py``. Text fields keep the source's
own script (``title``) beside its Traditional, Simplified and English forms
where known (``title_hant``, ``title_hans``, ``title_en``): stored text is never
normalised; search and the 繁/简 switch convert copies only.
"""

from __future__ import annotations

import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from wagtail.images.models import AbstractImage, AbstractRendition, Image

#: Public identifiers: lower-case letters, digits and hyphens; 3 to 64 long.
#: ``\Z``, not ``$``: Python's ``$`` also matches before a final newline
#: (PostgreSQL's regular expressions know ``\Z`` too).
PUBLIC_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{2,63}\Z"
_PUBLIC_ID_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32

public_id_validator = RegexValidator(
    PUBLIC_ID_PATTERN,
    _(
        "Use 3 to 64 lower-case letters, digits and hyphens, starting with a letter or digit."
    ),
)

#: Rights must be a rightsstatements.org statement or a Creative Commons URI.
RIGHTS_URI_PATTERN = (
    r"^(http://rightsstatements\.org/vocab/[A-Za-z-]+/1\.0/"
    r"|https?://creativecommons\.org/(licenses|publicdomain)/[a-z0-9.+-]+(/[0-9.]+)?/?)$"
)
rights_uri_validator = RegexValidator(
    RIGHTS_URI_PATTERN,
    _("Give a rightsstatements.org or creativecommons.org URI."),
)


def reserved_collection_code_validator(value: str) -> None:
    """Refuse collection codes that IIIF collection URLs reserve (``top``, ``theme-…``)."""
    if value == "top" or value.startswith("theme-"):
        raise ValidationError(
            _(
                "'top' and codes starting with 'theme-' are reserved for IIIF collections."
            )
        )


def new_public_id(prefix: str = "yc") -> str:
    """Return a new random public identifier such as ``yc-7h3k9m2p4q``.

    Random rather than derived from titles, so it never has to change when a
    record is corrected.
    """
    token = "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(10))
    return f"{prefix}-{token}"


def new_item_public_id() -> str:
    """Default public identifier of an item."""
    return new_public_id("yc")


def new_image_public_id() -> str:
    """Default public identifier of a page image."""
    return new_public_id("img")


def new_work_public_id() -> str:
    """Default public identifier of a work."""
    return new_public_id("wk")


class TimeStampedModel(models.Model):
    """Abstract base: when a record was created and last changed."""

    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        abstract = True


class ImmutablePublicIdMixin(models.Model):
    """A ``public_id`` that never changes once the record is saved.

    Stable identifiers are used in URLs and IIIF ids (DESIGN.md); changing one
    is a breaking change for every client that cited it, so saving a changed
    identifier raises instead.
    """

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk:
            stored = (
                type(self)
                .objects.filter(pk=self.pk)
                .values_list("public_id", flat=True)
                .first()
            )
            if stored is not None and stored != self.public_id:
                raise ValidationError(
                    {
                        "public_id": _(
                            "A public identifier never changes once it is saved."
                        )
                    }
                )
        super().save(*args, **kwargs)


class MultilingualTitleMixin(models.Model):
    """A title as the source writes it, plus its known Traditional/Simplified/English forms."""

    title = models.CharField(
        _("title"),
        max_length=500,
        help_text=_("As the source writes it, in its own script."),
    )
    title_hant = models.CharField(_("title (Traditional)"), max_length=500, blank=True)
    title_hans = models.CharField(_("title (Simplified)"), max_length=500, blank=True)
    title_en = models.CharField(_("title (English)"), max_length=500, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.title

    def title_for(self, language: str | None = None) -> str:
        """Return the title in the form that best fits a UI language code."""
        return pick_form(self, "title", language)


def pick_form(obj, field: str, language: str | None = None) -> str:
    """Return ``obj.<field>_<form>`` for a UI language, falling back to the source text.

    English readers get the English form when there is one; Chinese readers get
    the source's own text (the 繁/简 display switch converts it if they ask).
    """
    language = (language or get_language() or "").lower()
    if language.startswith("en"):
        value = getattr(obj, f"{field}_en", "")
        if value:
            return value
    return getattr(obj, field)


class AccessLevel(models.TextChoices):
    """Who may see a record (DESIGN.md, Access); ``archive.access.can_view`` decides."""

    PUBLIC = "public", _("Public")
    READING_ROOM = "reading_room", _("Reading room only")
    STAFF = "staff", _("Staff only")
    EMBARGOED = "embargoed", _("Embargoed until a date")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Institution(TimeStampedModel):
    """A library or partner that contributes items (the IIIF ``provider``)."""

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central library")
        DISTRICT = "district", _("District library")
        PARTNER = "partner", _("Partner")

    code = models.SlugField(
        # Translators: a short stable key of a record, used in URLs (e.g. "gzlib").
        _("code"),
        unique=True,
        max_length=64,
    )
    name = models.CharField(
        _("name"), max_length=300, help_text=_("As the institution writes it.")
    )
    name_hant = models.CharField(_("name (Traditional)"), max_length=300, blank=True)
    name_hans = models.CharField(_("name (Simplified)"), max_length=300, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    kind = models.CharField(
        # Translators: the type of institution (central library, district library, partner).
        _("kind"),
        max_length=16,
        choices=Kind.choices,
        default=Kind.DISTRICT,
    )
    homepage = models.URLField(_("homepage"), blank=True)

    class Meta:
        ordering = ["kind", "code"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.name

    def name_for(self, language: str | None = None) -> str:
        """Return the name in the form that best fits a UI language code."""
        return pick_form(self, "name", language)

    @property
    def is_central(self) -> bool:
        """Whether this is the central library, whose staff edit every institution's items."""
        return self.kind == self.Kind.CENTRAL


class ThemeLibrary(models.Model):
    """One of the four cultural-brand virtual theme libraries.

    The four rows are created by a data migration (``0002_theme_libraries``) so
    every installation has them; ``code`` is their stable key.
    """

    code = models.SlugField(
        # Translators: a short stable key of a record, used in URLs (e.g. "gzlib").
        _("code"),
        unique=True,
        max_length=32,
    )
    name_hant = models.CharField(_("name (Traditional)"), max_length=100)
    name_hans = models.CharField(_("name (Simplified)"), max_length=100)
    name_en = models.CharField(_("name (English)"), max_length=100)
    introduction_hant = models.TextField(_("introduction (Traditional)"), blank=True)
    introduction_hans = models.TextField(_("introduction (Simplified)"), blank=True)
    introduction_en = models.TextField(_("introduction (English)"), blank=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order"]
        verbose_name = _("theme library")
        verbose_name_plural = _("theme libraries")

    def __str__(self) -> str:
        return f"{self.name_hant} {self.name_en}"

    def name_for(self, language: str | None = None) -> str:
        """Return the name in the UI language's form."""
        language = (language or get_language() or "").lower()
        if language.startswith("en"):
            return self.name_en
        if language == "zh-hans":
            return self.name_hans
        return self.name_hant

    def introduction_for(self, language: str | None = None) -> str:
        """Return the introduction in the UI language's form."""
        language = (language or get_language() or "").lower()
        if language.startswith("en"):
            return self.introduction_en
        if language == "zh-hans":
            return self.introduction_hans
        return self.introduction_hant


class Collection(MultilingualTitleMixin, TimeStampedModel):
    """A nested archival collection (e.g. 廣州大典 › 經部)."""

    code = models.SlugField(
        # Translators: a short stable key of a record, used in URLs (e.g. "gzlib").
        _("code"),
        unique=True,
        max_length=64,
        validators=[reserved_collection_code_validator],
        help_text=_("Used in IIIF collection URLs; 'top' and 'theme-…' are reserved."),
    )
    institution = models.ForeignKey(
        "archive.Institution",
        on_delete=models.PROTECT,
        related_name="collections",
        verbose_name=_("institution"),
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        verbose_name=_("parent collection"),
    )
    description = models.TextField(_("description"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    themes = models.ManyToManyField(
        "archive.ThemeLibrary",
        blank=True,
        related_name="collections",
        verbose_name=_("theme libraries"),
    )

    class Meta:
        ordering = ["code"]
        # "archival" keeps these apart from Wagtail's own "collection" (集合) of
        # images and documents, which shares the catalog.
        verbose_name = _("archival collection")
        verbose_name_plural = _("archival collections")
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("id")), name="collection_not_own_parent"
            ),
            models.CheckConstraint(
                condition=~Q(code="top") & ~Q(code__startswith="theme-"),
                name="collection_code_not_reserved",
            ),
        ]

    def clean(self) -> None:
        """Refuse a parent chain that loops back to this collection."""
        seen = {self.pk} if self.pk else set()
        node = self.parent
        while node is not None:
            if node.pk in seen:
                raise ValidationError(
                    {"parent": _("A collection cannot contain itself.")}
                )
            seen.add(node.pk)
            node = node.parent

    def ancestors(self) -> list[Collection]:
        """Return the chain of parents, outermost first."""
        chain: list[Collection] = []
        seen = {self.pk}
        node = self.parent
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            chain.insert(0, node)
            node = node.parent
        return chain


class Agent(TimeStampedModel):
    """A person or organisation with roles on works and items."""

    class Kind(models.TextChoices):
        PERSON = "person", _("Person")
        ORGANISATION = "organisation", _("Organisation")

    kind = models.CharField(
        # Translators: whether an agent is a person or an organisation.
        _("kind"),
        max_length=16,
        choices=Kind.choices,
        default=Kind.PERSON,
    )
    name = models.CharField(
        _("name"), max_length=300, help_text=_("As the source writes it.")
    )
    name_hant = models.CharField(_("name (Traditional)"), max_length=300, blank=True)
    name_hans = models.CharField(_("name (Simplified)"), max_length=300, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    #: The dynasty of a pre-modern author as catalogues give it (宋, 明, 清).
    dynasty = models.CharField(_("dynasty"), max_length=20, blank=True)
    dates = models.CharField(
        _("life dates"),
        max_length=100,
        blank=True,
        help_text=_("Life dates as the source gives them."),
    )
    description = models.TextField(_("description"), blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return f"({self.dynasty}) {self.name}" if self.dynasty else self.name

    def name_for(self, language: str | None = None) -> str:
        """Return the name in the form that best fits a UI language code."""
        return pick_form(self, "name", language)


class Role(models.TextChoices):
    """What an agent did for a work or an item."""

    AUTHOR = "author", _("Author")
    EDITOR = "editor", _("Editor")
    INTERVIEWEE = "interviewee", _("Interviewee")
    INTERVIEWER = "interviewer", _("Interviewer")
    NARRATOR = "narrator", _("Narrator")
    PHOTOGRAPHER = "photographer", _("Photographer")
    DIRECTOR = "director", _("Director")
    PUBLISHER = "publisher", _("Publisher")
    OTHER = "other", _("Other")


class Place(TimeStampedModel):
    """A place named by items, with coordinates (WGS 84) where known."""

    name = models.CharField(_("name"), max_length=300)
    name_hant = models.CharField(_("name (Traditional)"), max_length=300, blank=True)
    name_hans = models.CharField(_("name (Simplified)"), max_length=300, blank=True)
    name_en = models.CharField(_("name (English)"), max_length=300, blank=True)
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("place")
        verbose_name_plural = _("places")
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90),
                name="place_latitude_range",
            ),
            models.CheckConstraint(
                condition=Q(longitude__isnull=True)
                | Q(longitude__gte=-180, longitude__lte=180),
                name="place_longitude_range",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__isnull=False, longitude__isnull=False),
                name="place_coordinates_both_or_neither",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def name_for(self, language: str | None = None) -> str:
        """Return the name in the form that best fits a UI language code."""
        return pick_form(self, "name", language)


class DatedMixin(models.Model):
    """The source's date text kept as written, beside a sortable year range.

    The range comes from ``archive.dates.parse_date``; where the parser cannot
    read the text, the range stays empty rather than being guessed.
    """

    date_text = models.CharField(
        _("date as written"),
        max_length=200,
        blank=True,
        help_text=_("As the source gives it, e.g. 清光緒十年 or 民國二十七年."),
    )
    year_from = models.IntegerField(
        _("earliest year"), null=True, blank=True, editable=False
    )
    year_to = models.IntegerField(
        _("latest year"), null=True, blank=True, editable=False
    )
    date_approximate = models.BooleanField(
        _("approximate date"), default=False, editable=False
    )

    class Meta:
        abstract = True


class Work(MultilingualTitleMixin, DatedMixin, TimeStampedModel):
    """A titled work (e.g. a Dadian book), whose volumes are items."""

    class Bu(models.TextChoices):
        """The four-part classification of the Dadian plus its 叢部."""

        JING = "經", _("Classics (經)")
        SHI = "史", _("Histories (史)")
        ZI = "子", _("Masters (子)")
        JI = "集", _("Collections (集)")
        CONG = "叢", _("Collectanea (叢)")

    public_id = models.CharField(
        _("public identifier"),
        max_length=64,
        unique=True,
        default=new_work_public_id,
        validators=[public_id_validator],
    )
    bu = models.CharField(_("部 class"), max_length=2, choices=Bu.choices, blank=True)
    subclass = models.CharField(_("finer class"), max_length=100, blank=True)
    edition = models.CharField(_("edition (版本)"), max_length=300, blank=True)
    dadian_ref = models.CharField(_("Dadian reference"), max_length=100, blank=True)
    agents = models.ManyToManyField(
        "archive.Agent",
        through="archive.WorkAgent",
        blank=True,
        verbose_name=_("agents"),
    )

    class Meta:
        ordering = ["title"]
        # Translators: a titled work (e.g. a Guangzhou Dadian book) whose volumes are items.
        verbose_name = _("work")
        verbose_name_plural = _("works")
        constraints = [
            models.CheckConstraint(
                condition=Q(year_from__isnull=True)
                | Q(year_to__isnull=True)
                | Q(year_from__lte=F("year_to")),
                name="work_year_range_ordered",
            ),
        ]


class WorkAgent(models.Model):
    """An agent's role on a work (e.g. its author)."""

    work = models.ForeignKey(
        "archive.Work",
        on_delete=models.CASCADE,
        related_name="work_agents",
        # Translators: a titled work (e.g. a Guangzhou Dadian book) whose volumes are items.
        verbose_name=_("work"),
    )
    agent = models.ForeignKey(
        "archive.Agent",
        on_delete=models.PROTECT,
        related_name="work_roles",
        verbose_name=_("agent"),
    )
    role = models.CharField(
        # Translators: what an agent did for a work or an item (author, interviewee...).
        _("role"),
        max_length=20,
        choices=Role.choices,
        default=Role.AUTHOR,
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "pk"]
        verbose_name = _("agent of a work")
        verbose_name_plural = _("agents of works")
        constraints = [
            models.UniqueConstraint(
                fields=["work", "agent", "role"], name="workagent_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} ({self.get_role_display()})"


class Item(
    ImmutablePublicIdMixin, MultilingualTitleMixin, DatedMixin, TimeStampedModel
):
    """One archival item: a book volume, an interview, a film, an image set.

    ``public_id`` is the stable identifier in ``/items/{item}/`` and IIIF URLs.
    """

    class Kind(models.TextChoices):
        BOOK_VOLUME = "book_volume", _("Book volume")
        ORAL_HISTORY = "oral_history", _("Oral-history interview")
        DOCUMENTARY_VIDEO = "documentary_video", _("Documentary video")
        IMAGE_SET = "image_set", _("Image set")
        OTHER = "other", _("Other")

    public_id = models.CharField(
        _("public identifier"),
        max_length=64,
        unique=True,
        default=new_item_public_id,
        validators=[public_id_validator],
        help_text=_("Used in URLs and IIIF identifiers; never changes."),
    )
    kind = models.CharField(
        # Translators: the type of item (book volume, oral-history interview...).
        _("kind"),
        max_length=32,
        choices=Kind.choices,
    )
    institution = models.ForeignKey(
        "archive.Institution",
        on_delete=models.PROTECT,
        related_name="items",
        verbose_name=_("institution"),
        help_text=_("The contributing institution (the IIIF provider)."),
    )
    collection = models.ForeignKey(
        "archive.Collection",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="items",
        verbose_name=_("archival collection"),
    )
    work = models.ForeignKey(
        "archive.Work",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="volumes",
        # Translators: a titled work (e.g. a Guangzhou Dadian book) whose volumes are items.
        verbose_name=_("work"),
    )
    volume_number = models.PositiveIntegerField(
        _("volume number"), null=True, blank=True
    )
    dadian_ref = models.CharField(_("Dadian reference"), max_length=100, blank=True)
    description = models.TextField(
        _("description"), blank=True, help_text=_("As the source writes it.")
    )
    description_hant = models.TextField(_("description (Traditional)"), blank=True)
    description_hans = models.TextField(_("description (Simplified)"), blank=True)
    description_en = models.TextField(_("description (English)"), blank=True)
    #: BCP 47 tags of the content's languages (lzh, yue, zh-Hant, en...).
    languages = models.JSONField(_("languages"), default=list, blank=True)
    dialect = models.CharField(
        _("dialect"), max_length=50, blank=True, help_text=_("e.g. 廣州話, 台山話")
    )
    rights_uri = models.CharField(
        _("rights"), max_length=200, validators=[rights_uri_validator]
    )
    required_statement = models.TextField(
        _("required statement"), help_text=_("Attribution text shown with the item.")
    )
    required_statement_en = models.TextField(
        _("required statement (English)"), blank=True
    )
    access_level = models.CharField(
        _("access level"),
        max_length=16,
        choices=AccessLevel.choices,
        default=AccessLevel.STAFF,
    )
    embargo_until = models.DateField(
        _("embargo until"),
        null=True,
        blank=True,
        help_text=_("Embargoed items open to the public on this date."),
    )
    withdrawn_note = models.TextField(
        _("withdrawal note"),
        blank=True,
        help_text=_("Shown on the tombstone when the item is withdrawn."),
    )
    #: The table of contents by 卷: ``[{label, first, last, children?}]`` with
    #: 1-based page positions, as batch format 1's ``toc`` gives it.
    toc = models.JSONField(
        _("table of contents"),
        default=list,
        blank=True,
        help_text=_("[{label, first, last, children?}]: 1-based page positions."),
    )
    themes = models.ManyToManyField(
        "archive.ThemeLibrary",
        blank=True,
        related_name="items",
        verbose_name=_("theme libraries"),
    )
    places = models.ManyToManyField(
        "archive.Place", blank=True, related_name="items", verbose_name=_("places")
    )
    agents = models.ManyToManyField(
        "archive.Agent",
        through="archive.ItemAgent",
        blank=True,
        verbose_name=_("agents"),
    )

    class Meta:
        ordering = ["-created_at"]
        # Translators: one archival record (book volume, interview, film...); 資料 in the glossary.
        verbose_name = _("item")
        # Translators: archival records (book volumes, interviews, films...); 資料 in the glossary.
        verbose_name_plural = _("items")
        permissions = [
            (
                "view_restricted",
                "Can view reading-room, staff-only and embargoed items",
            ),
            ("edit_all_institutions", "Can edit items of every institution"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(access_level="embargoed") | Q(embargo_until__isnull=False),
                name="item_embargo_needs_date",
            ),
            models.CheckConstraint(
                condition=Q(year_from__isnull=True)
                | Q(year_to__isnull=True)
                | Q(year_from__lte=F("year_to")),
                name="item_year_range_ordered",
            ),
            models.UniqueConstraint(
                fields=["work", "volume_number"],
                condition=Q(work__isnull=False, volume_number__isnull=False),
                name="item_unique_volume_in_work",
            ),
            models.CheckConstraint(
                condition=Q(public_id__regex=PUBLIC_ID_PATTERN),
                name="item_public_id_format",
            ),
        ]
        indexes = [models.Index(fields=["access_level", "kind"])]

    def clean(self) -> None:
        """Check the cross-field rules the database cannot express clearly."""
        errors = {}
        if self.access_level == AccessLevel.EMBARGOED and not self.embargo_until:
            errors["embargo_until"] = _("An embargoed item needs the date it opens.")
        if self.volume_number and not self.work_id:
            errors["volume_number"] = _("A volume number needs the work it belongs to.")
        if errors:
            raise ValidationError(errors)

    def description_for(self, language: str | None = None) -> str:
        """Return the description in the form that best fits a UI language code."""
        return pick_form(self, "description", language)

    def required_statement_for(self, language: str | None = None) -> str:
        """Return the required statement in the UI language where known."""
        return pick_form(self, "required_statement", language)

    @property
    def is_recording(self) -> bool:
        """Whether the item is audio or video."""
        return self.kind in (self.Kind.ORAL_HISTORY, self.Kind.DOCUMENTARY_VIDEO)

    def embargo_active(self, today=None) -> bool:
        """Whether an embargo still holds today (it lifts on ``embargo_until``)."""
        today = today or timezone.localdate()
        return self.embargo_until is not None and today < self.embargo_until


class ItemAgent(models.Model):
    """An agent's role on an item (interviewee, interviewer, author...)."""

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="item_agents",
        # Translators: one archival record (book volume, interview, film...); 資料 in the glossary.
        verbose_name=_("item"),
    )
    agent = models.ForeignKey(
        "archive.Agent",
        on_delete=models.PROTECT,
        related_name="item_roles",
        verbose_name=_("agent"),
    )
    role = models.CharField(
        # Translators: what an agent did for a work or an item (author, interviewee...).
        _("role"),
        max_length=20,
        choices=Role.choices,
    )
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        ordering = ["sort_order", "pk"]
        verbose_name = _("agent of an item")
        verbose_name_plural = _("agents of items")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "agent", "role"], name="itemagent_unique_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} ({self.get_role_display()})"


SHA256_PATTERN = r"^[0-9a-f]{64}$"


class Asset(TimeStampedModel):
    """An original file exactly as received, stored content-addressed by SHA-256.

    The bytes are never changed; derivatives are made from them. Consent forms
    and other personal data are staff only whatever the item's level.
    """

    class Role(models.TextChoices):
        PAGE = "page", _("Page scan")
        MEDIA = "media", _("Audio or video master")
        TEXT = "text", _("Text, OCR or transcription (ALTO, hOCR, plain text)")
        CONSENT_FORM = "consent_form", _("Signed consent form")
        SUPPLEMENT = "supplement", _("Supplementary file")

    class FixityStatus(models.TextChoices):
        UNCHECKED = "unchecked", _("Not yet checked")
        OK = "ok", _("Intact")
        MISMATCH = "mismatch", _("Checksum mismatch")
        MISSING = "missing", _("File missing")

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.PROTECT,
        related_name="assets",
        # Translators: one archival record (book volume, interview, film...); 資料 in the glossary.
        verbose_name=_("item"),
    )
    role = models.CharField(
        # Translators: what a stored file is for (page scan, media master, consent form...).
        _("file role"),
        max_length=20,
        choices=Role.choices,
    )
    sha256 = models.CharField(
        _("SHA-256"),
        max_length=64,
        validators=[RegexValidator(SHA256_PATTERN)],
        db_index=True,
    )
    #: Relative to ARCHIVE_STORAGE_ROOT; derived from the checksum.
    storage_path = models.CharField(_("storage path"), max_length=300)
    original_filename = models.CharField(
        _("original file name"), max_length=500, blank=True
    )
    # Translators: the size of a file, in bytes.
    size = models.PositiveBigIntegerField(_("size"))
    #: Detected from the bytes, not trusted from the file name.
    media_type = models.CharField(_("media type"), max_length=100)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    #: Personal data (consent forms): staff only, whatever the item's level.
    is_personal_data = models.BooleanField(_("personal data"), default=False)
    #: Optional stricter level for this file alone; empty follows the item.
    access_level = models.CharField(
        _("access level"),
        max_length=16,
        choices=AccessLevel.choices,
        blank=True,
        default="",
    )
    fixity_status = models.CharField(
        _("fixity status"),
        max_length=16,
        choices=FixityStatus.choices,
        default=FixityStatus.UNCHECKED,
    )
    last_fixity_at = models.DateTimeField(_("last fixity check"), null=True, blank=True)

    class Meta:
        ordering = ["item", "pk"]
        verbose_name = _("stored original")
        verbose_name_plural = _("stored originals")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "sha256"], name="asset_unique_file_per_item"
            ),
            models.CheckConstraint(
                condition=Q(sha256__regex=SHA256_PATTERN), name="asset_sha256_format"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename or self.sha256[:12]} ({self.media_type})"

    @property
    def is_staff_only(self) -> bool:
        """Consent forms and other personal data are staff only, whatever the item says."""
        return self.is_personal_data or self.role == self.Role.CONSENT_FORM

    @property
    def path(self):
        """The absolute path of the stored bytes."""
        from pathlib import Path

        return Path(settings.ARCHIVE_STORAGE_ROOT) / self.storage_path


class FixityCheck(models.Model):
    """One re-hash of a stored original: what was found, and when."""

    class Outcome(models.TextChoices):
        OK = "ok", _("Intact")
        MISMATCH = "mismatch", _("Checksum mismatch")
        MISSING = "missing", _("File missing")

    asset = models.ForeignKey(
        "archive.Asset",
        on_delete=models.CASCADE,
        related_name="fixity_checks",
        verbose_name=_("stored original"),
    )
    checked_at = models.DateTimeField(
        _("checked at"), default=timezone.now, db_index=True
    )
    # Translators: the result of a fixity check (intact, checksum mismatch, file missing).
    outcome = models.CharField(_("outcome"), max_length=16, choices=Outcome.choices)
    observed_sha256 = models.CharField(_("observed SHA-256"), max_length=64, blank=True)
    # Translators: what a fixity check reported, e.g. an error text.
    message = models.TextField(_("message"), blank=True)

    class Meta:
        ordering = ["-checked_at"]
        get_latest_by = "checked_at"
        verbose_name = _("fixity check")
        verbose_name_plural = _("fixity checks")

    def __str__(self) -> str:
        return f"{self.asset_id} {self.outcome} {self.checked_at:%Y-%m-%d %H:%M}"


class Derivative(TimeStampedModel):
    """A file made from an asset by a versioned recipe (pyramid, thumbnail, listening copy).

    A new recipe version makes new derivatives beside the old; originals are
    never touched.
    """

    class Kind(models.TextChoices):
        PYRAMID = "pyramid", _("Tiled pyramidal TIFF")
        THUMBNAIL = "thumbnail", _("Thumbnail")
        PREVIEW = "preview", _("Preview image")
        LISTENING_COPY = "listening_copy", _("Listening copy")
        VIDEO_PROXY = "video_proxy", _("Video proxy (H.264 MP4)")
        POSTER = "poster", _("Video poster frame")

    asset = models.ForeignKey(
        "archive.Asset",
        on_delete=models.CASCADE,
        related_name="derivatives",
        verbose_name=_("stored original"),
    )
    kind = models.CharField(
        # Translators: the type of derivative file (pyramidal TIFF, thumbnail...).
        _("kind"),
        max_length=20,
        choices=Kind.choices,
    )
    # Translators: the version of the processing recipe that made a derivative file.
    recipe_version = models.PositiveIntegerField(_("recipe version"), default=1)
    #: Relative to ARCHIVE_STORAGE_ROOT.
    # Translators: where a file is stored, relative to the storage folder.
    path = models.CharField(_("path"), max_length=300)
    media_type = models.CharField(_("media type"), max_length=100)
    # Translators: the size of a file, in bytes.
    size = models.PositiveBigIntegerField(_("size"), default=0)
    width = models.PositiveIntegerField(_("width"), null=True, blank=True)
    height = models.PositiveIntegerField(_("height"), null=True, blank=True)

    class Meta:
        ordering = ["asset", "kind", "-recipe_version"]
        verbose_name = _("derivative")
        verbose_name_plural = _("derivatives")
        constraints = [
            models.UniqueConstraint(
                fields=["asset", "kind", "recipe_version"],
                name="derivative_unique_recipe",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} v{self.recipe_version} of asset {self.asset_id}"

    @property
    def abspath(self):
        """The absolute path of the derivative file."""
        from pathlib import Path

        return Path(settings.ARCHIVE_STORAGE_ROOT) / self.path


class PageImage(ImmutablePublicIdMixin, TimeStampedModel):
    """One page (or image) of an item: a future IIIF canvas with a stable image id."""

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="pages",
        # Translators: one archival record (book volume, interview, film...); 資料 in the glossary.
        verbose_name=_("item"),
    )
    sequence = models.PositiveIntegerField(
        # Translators: the position of a page in the item's reading order.
        _("sequence"),
        help_text=_("1-based reading order."),
    )
    label = models.CharField(
        # Translators: the name a page is shown under, e.g. 第一葉 or 封面.
        _("label"),
        max_length=100,
        blank=True,
        help_text=_("e.g. 第一葉, 封面"),
    )
    public_id = models.CharField(
        _("image identifier"),
        max_length=64,
        unique=True,
        default=new_image_public_id,
        validators=[public_id_validator],
    )
    asset = models.ForeignKey(
        "archive.Asset",
        on_delete=models.PROTECT,
        related_name="page_images",
        verbose_name=_("stored original"),
    )
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    #: The folio number printed in the 版心 (block centre), as printed: 三, 十二, 12.
    folio = models.CharField(
        # Translators: the leaf number printed in the centre fold (版心) of a Chinese book page.
        _("folio (版心)"),
        max_length=32,
        blank=True,
    )
    #: A blank leaf: still a canvas, so the book's physical order is kept.
    blank = models.BooleanField(
        # Translators: a leaf (page) of a book with nothing printed or written on it.
        _("blank leaf"),
        default=False,
    )
    #: Plain-text transcription of the page, as the source has it.
    text = models.TextField(_("transcription"), blank=True)
    #: Lines and words with pixel boxes read from ALTO or hOCR
    #: (``ingest.ocr.PageText.to_json``), for drawing search hits on the page.
    text_layout = models.JSONField(
        # Translators: the positions of the words of a page's transcription on the image.
        _("text layout"),
        null=True,
        blank=True,
    )
    #: ALTO or hOCR with coordinates, where delivered.
    text_asset = models.ForeignKey(
        "archive.Asset",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # Translators: the stored ALTO or hOCR file of a page's transcription.
        verbose_name=_("transcription file"),
    )

    class Meta:
        ordering = ["item", "sequence"]
        verbose_name = _("page image")
        verbose_name_plural = _("page images")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "sequence"], name="pageimage_unique_sequence"
            ),
            # The same image is never a page of one item twice.
            models.UniqueConstraint(
                fields=["item", "asset"], name="pageimage_unique_asset"
            ),
            models.CheckConstraint(
                condition=Q(sequence__gte=1), name="pageimage_sequence_positive"
            ),
            models.CheckConstraint(
                condition=Q(public_id__regex=PUBLIC_ID_PATTERN),
                name="pageimage_public_id_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.item.public_id} p.{self.sequence} {self.label}"


class StaffProfile(models.Model):
    """Which institution an archivist or curator works for.

    Archivists edit only their institution's items unless they are staff of the
    central library (or hold ``archive.edit_all_institutions``).
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="archive_profile",
        verbose_name=_("user"),
    )
    institution = models.ForeignKey(
        "archive.Institution",
        on_delete=models.PROTECT,
        related_name="staff",
        verbose_name=_("institution"),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} @ {self.institution.code}"


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker proved it was alive (read by /healthz)."""

    hostname = models.CharField(_("host name"), max_length=255, unique=True)
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return f"{self.hostname} {self.last_seen:%Y-%m-%d %H:%M:%S}"


class ArchiveImage(AbstractImage):
    """Wagtail image for editorial pictures (exhibition heroes), with credit and rights.

    Archival page scans are not Wagtail images: they are Assets served by IIIF.
    """

    # Translators: who made or lent a picture, shown beside it.
    credit = models.CharField(_("credit"), max_length=300, blank=True)
    rights_uri = models.CharField(
        _("rights"), max_length=200, blank=True, validators=[rights_uri_validator]
    )

    admin_form_fields = Image.admin_form_fields + ("credit", "rights_uri")

    class Meta(AbstractImage.Meta):
        verbose_name = _("image")
        verbose_name_plural = _("images")


class ArchiveRendition(AbstractRendition):
    """A rendition of an :class:`ArchiveImage`."""

    image = models.ForeignKey(
        "archive.ArchiveImage",
        on_delete=models.CASCADE,
        related_name="renditions",
        verbose_name=_("image"),
    )

    class Meta:
        unique_together = (("image", "filter_spec", "focal_point_key"),)
        verbose_name = _("image rendition")
        verbose_name_plural = _("image renditions")


def public_id_is_valid(value: str) -> bool:
    """Whether a string has the form of a public identifier."""
    return bool(re.match(PUBLIC_ID_PATTERN, value or ""))


class SearchIndexRun(TimeStampedModel):
    """One rebuild of the whole search index: who asked, how far it got, how it ended.

    Written by :mod:`archive.search.runs` (from the admin's "Rebuild" button
    through ``search_reindex_task``, or from ``manage.py reindex``) so the
    admin can show progress and history; the index itself lives in the engine.
    """

    class State(models.TextChoices):
        # Translators: search index rebuild state: waiting for the search worker.
        QUEUED = "queued", _("queued")
        # Translators: search index rebuild state: documents are being indexed.
        RUNNING = "running", _("running")
        # Translators: search index rebuild state: the new index is live.
        DONE = "done", _("done")
        # Translators: search index rebuild state: stopped by an error.
        FAILED = "failed", _("failed")

    class Source(models.TextChoices):
        # Translators: a search index rebuild started from the admin site.
        ADMIN = "admin", _("admin site")
        # Translators: a search index rebuild started with "manage.py reindex".
        COMMAND = "command", _("command line")

    ACTIVE = (State.QUEUED, State.RUNNING)

    state = models.CharField(
        _("state"), max_length=16, choices=State.choices, default=State.QUEUED
    )
    #: The engine's name (``embedded``, ``opensearch``) once the run starts.
    engine = models.CharField(_("search engine"), max_length=32, blank=True)
    #: Documents to index, and indexed so far (saved about once a second).
    total = models.PositiveIntegerField(_("documents to index"), default=0)
    done = models.PositiveIntegerField(_("documents indexed so far"), default=0)
    #: What the engine reported indexing when the run finished.
    documents = models.PositiveIntegerField(
        _("documents indexed"), null=True, blank=True
    )
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    source = models.CharField(
        _("started from"), max_length=16, choices=Source.choices, default=Source.ADMIN
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("search index rebuild")
        verbose_name_plural = _("search index rebuilds")

    def __str__(self) -> str:
        return f"#{self.pk} {self.state}"

    @property
    def is_active(self) -> bool:
        """Whether the run is waiting or running."""
        return self.state in self.ACTIVE

    @property
    def percent(self) -> int:
        """How far the run is, 0 to 100."""
        if self.state == self.State.DONE:
            return 100
        if not self.total:
            return 0
        return min(100, 100 * self.done // self.total)

    @property
    def seconds(self) -> float | None:
        """How long the run took (or has taken so far), in seconds."""
        if self.started_at is None:
            return None
        end = self.finished_at or timezone.now()
        return (end - self.started_at).total_seconds()


# ---------------------------------------------------------------------------
# Trust: access requests and grants, concerns, the audit log


class AccessRequest(TimeStampedModel):
    """A visitor's request to see a restricted item, for staff to grant or refuse.

    Filed through ``/items/{item}/request-access/``; the form never shows the
    restricted item's title, only its identifier.
    """

    class Status(models.TextChoices):
        # Translators: an access request waiting for staff.
        PENDING = "pending", _("waiting")
        # Translators: an access request that staff granted.
        GRANTED = "granted", _("granted")
        # Translators: an access request that staff refused.
        REFUSED = "refused", _("refused")

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="access_requests",
        verbose_name=_("item"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="access_requests",
        verbose_name=_("account"),
    )
    name = models.CharField(_("name"), max_length=200)
    email = models.EmailField(_("email"))
    affiliation = models.CharField(_("affiliation"), max_length=200, blank=True)
    purpose = models.TextField(_("purpose of the research"))
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        permissions = [("manage_access", "Can grant, refuse and revoke access")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.email} {self.status}"


class AccessGrant(TimeStampedModel):
    """Staff let one person (an account) see one restricted item until a time.

    A grant opens the item's own level (reading room, staff only, embargoed);
    it never opens what is staff only whatever the item says (consent forms)
    nor a closed passage of a recording. It ends by itself at ``expires_at``
    (``can_view`` compares with the clock) and the scheduled job records the
    end in the audit log; staff may revoke it sooner.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="access_grants",
        verbose_name=_("person"),
    )
    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="access_grants",
        verbose_name=_("item"),
    )
    expires_at = models.DateTimeField(_("expires at"), db_index=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("granted by"),
    )
    request = models.ForeignKey(
        "archive.AccessRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="grants",
        verbose_name=_("access request"),
    )
    note = models.TextField(_("note"), blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    #: When the scheduled job recorded the grant's end in the audit log.
    ended_logged_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("access grant")
        verbose_name_plural = _("access grants")
        indexes = [models.Index(fields=["user", "item", "expires_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.item_id} until {self.expires_at:%Y-%m-%d %H:%M}"

    def is_active(self, now=None) -> bool:
        """Whether the grant opens its item now."""
        now = now or timezone.now()
        return self.revoked_at is None and now < self.expires_at


class ConcernReport(TimeStampedModel):
    """A takedown request or other concern about a public item, for staff review."""

    class Reason(models.TextChoices):
        # Translators: reason for reporting an item: it exposes personal or private information.
        PRIVACY = "privacy", _("Privacy or personal information")
        # Translators: reason for reporting an item: it infringes copyright.
        COPYRIGHT = "copyright", _("Copyright")
        # Translators: reason for reporting an item: it is harmful or offensive.
        HARMFUL = "harmful", _("Harmful or offensive content")
        # Translators: reason for reporting an item: its description is wrong.
        ERROR = "error", _("Wrong description or metadata")
        # Translators: reason for reporting an item: anything else.
        OTHER = "other", _("Other")

    class Status(models.TextChoices):
        # Translators: a reported concern not yet reviewed.
        OPEN = "open", _("open")
        # Translators: a reported concern that staff acted on (e.g. withdrew the item).
        ACTIONED = "actioned", _("acted on")
        # Translators: a reported concern that staff reviewed and dismissed.
        DISMISSED = "dismissed", _("dismissed")

    item = models.ForeignKey(
        "archive.Item",
        on_delete=models.CASCADE,
        related_name="concerns",
        verbose_name=_("item"),
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    message = models.TextField(_("message"))
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.EmailField(_("email"), blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=Status.choices, default=Status.OPEN
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("handled by"),
    )
    handled_at = models.DateTimeField(_("handled at"), null=True, blank=True)
    staff_note = models.TextField(_("staff note"), blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reported concern")
        verbose_name_plural = _("reported concerns")
        permissions = [("review_concerns", "Can review reported concerns")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.reason} {self.status}"


class AuditEvent(models.Model):
    """One entry of the audit log: who did what to which item, and when.

    Written only by :mod:`archive.audit`; never edited or deleted through the
    admin. ``item_public_id`` and ``actor_name`` keep the entry readable after
    the item or the account is gone.
    """

    class Action(models.TextChoices):
        # Translators: audit log action: an item's access level or embargo changed.
        ACCESS_CHANGED = "access_changed", _("access changed")
        # Translators: audit log action: an item was withdrawn.
        WITHDRAWN = "withdrawn", _("withdrawn")
        # Translators: audit log action: a person was granted access to an item.
        GRANT_CREATED = "grant_created", _("access granted")
        # Translators: audit log action: staff revoked a person's access.
        GRANT_REVOKED = "grant_revoked", _("access revoked")
        # Translators: audit log action: a person's access ended on its date.
        GRANT_EXPIRED = "grant_expired", _("access expired")
        # Translators: audit log action: a visitor asked for access to an item.
        REQUEST_FILED = "request_filed", _("access requested")
        # Translators: audit log action: staff refused an access request.
        REQUEST_REFUSED = "request_refused", _("request refused")
        # Translators: audit log action: staff (or a granted person) viewed restricted material.
        RESTRICTED_VIEWED = "restricted_viewed", _("restricted material viewed")
        # Translators: audit log action: a visitor reported a concern about an item.
        CONCERN_FILED = "concern_filed", _("concern reported")
        # Translators: audit log action: staff reviewed a reported concern.
        CONCERN_REVIEWED = "concern_reviewed", _("concern reviewed")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("who"),
    )
    #: The actor's username at the time ("" for a visitor or the system).
    actor_name = models.CharField(_("who (as recorded)"), max_length=150, blank=True)
    action = models.CharField(
        _("action"), max_length=32, choices=Action.choices, db_index=True
    )
    item = models.ForeignKey(
        "archive.Item",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("item"),
    )
    item_public_id = models.CharField(_("item identifier"), max_length=64, blank=True)
    summary = models.TextField(_("what"), blank=True)
    detail = models.JSONField(_("details"), default=dict, blank=True)
    address = models.GenericIPAddressField(_("address"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        permissions = [("view_audit_log", "Can read the audit log")]
        indexes = [models.Index(fields=["item_public_id", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name or '-'} {self.action}"
