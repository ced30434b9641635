"""One campaign, every subscriber's language: the translations of a campaign's newsletter page.

When Wagtail's internationalisation is on (``WAGTAIL_I18N_ENABLED``) and the campaign's page has translations (made
with core ``copy_for_translation`` or wagtail-localize: both are pages sharing a ``translation_key``), each subscriber
gets the translation in their language, else the campaign's own (its page's locale). Each published translation is
compiled once when the campaign starts (a ``CampaignTranslation``); the planner writes each delivery's language in
its ``INSERT … SELECT``, so the workers and the tracking views never look a subscriber's language up.
"""

from typing import NamedTuple

from django.conf import settings
from django.db.models import Case, CharField, Count, Q, Value, When
from django.utils.translation import gettext as _

from ..compose.checks import ERROR, preflight
from ..compose.compiled import compile_page
from .models import CampaignStatus, CampaignTranslation

PUBLISHED, UNPUBLISHED, MISSING = "published", "unpublished", "missing"
STARTABLE = (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED)  # not yet compiled: nothing frozen


class Language(NamedTuple):
    """A language a campaign can be sent in. ``status``: PUBLISHED (its live revision is sent), UNPUBLISHED (a
    translation that was never published or is not live now) or MISSING (no translation in that locale)."""

    code: str
    name: str
    status: str
    page: object = None
    revision: object = None


def i18n_enabled():
    return bool(getattr(settings, "WAGTAIL_I18N_ENABLED", False))


def _page(campaign):
    page = campaign.page
    return page.specific if page is not None else None


def campaign_languages(campaign):
    """The other languages of ``campaign``'s page: [Language, …] for every locale of the site except the page's own,
    or [] when internationalisation is off or the page has no translation (everybody then gets the page as it is)."""
    from wagtail.models import Locale

    if not i18n_enabled():
        return []
    page = _page(campaign)
    if page is None or not hasattr(page, "get_translations"):
        return []
    translations = {p.locale_id: p for p in page.get_translations().select_related("locale", "live_revision")}
    if not translations:
        return []
    languages = []
    for locale in Locale.objects.exclude(pk=page.locale_id).order_by("language_code"):
        other = translations.get(locale.pk)
        name = locale.get_display_name() or locale.language_code
        if other is None:
            languages.append(Language(locale.language_code, name, MISSING))
        elif other.live and other.live_revision_id:
            languages.append(Language(locale.language_code, name, PUBLISHED, other, other.live_revision))
        else:
            languages.append(Language(locale.language_code, name, UNPUBLISHED, other))
    return languages


def default_language(campaign):
    """The language code of the campaign's page's locale ("" when there is no page)."""
    page = _page(campaign)
    locale = getattr(page, "locale", None)
    return locale.language_code if locale is not None else ""


def language_q(code, field="language"):
    """Subscribers whose language is ``code`` or one of its regional forms ("fr" takes "fr-CA"), any case."""
    return Q(**{f"{field}__iexact": code}) | Q(**{f"{field}__istartswith": f"{code}-"})


def language_expression(codes):
    """SQL for a subscriber's translation: the first of ``codes`` matching their language, else "" (the default)."""
    if not codes:
        return Value("", output_field=CharField())
    return Case(
        *(When(language_q(code), then=Value(code)) for code in codes),
        default=Value(""),
        output_field=CharField(),
    )


def language_counts(recipients, codes):
    """{language code or "": number of ``recipients`` (a Subscriber queryset)} in one grouped query."""
    rows = recipients.order_by().annotate(wn_language=language_expression(codes)).values("wn_language")
    return {row["wn_language"]: row["n"] for row in rows.annotate(n=Count("pk"))}


class LanguagePlan(NamedTuple):
    """What the send wizard shows: the default language and each other language with its recipients."""

    default: str
    default_count: int
    languages: list  # [(Language, count)]
    campaign: object = None

    @property
    def blocking(self):
        """Languages with recipients and no published translation."""
        return [language for language, count in self.languages if count and language.status != PUBLISHED]


def language_plan(campaign, recipients):
    """The LanguagePlan of ``campaign`` for ``recipients`` (a Subscriber queryset, or a function returning one: only
    called when the page has translations), or None when it goes out in one language."""
    languages = campaign_languages(campaign)
    if not languages:
        return None
    recipients = recipients() if callable(recipients) else recipients
    counts = language_counts(recipients, [language.code for language in languages])
    split = [(language, counts.get(language.code, 0)) for language in languages]
    return LanguagePlan(default_language(campaign), counts.get("", 0), split, campaign)


def translation_problems(plan, fallback):
    """Messages for the editor: the pre-flight errors of each translation the campaign will send, and whether some
    recipients' translation is missing or unpublished while ``fallback`` (send them the default language) was not
    chosen."""
    if plan is None:
        return []
    problems = translation_check_problems(plan.campaign, plan)
    if fallback or not plan.blocking:
        return problems
    names = ", ".join(language.name for language in plan.blocking)
    return [
        _(
            "Some recipients read a language whose translation of this newsletter is missing or not published "
            "(%(languages)s): publish it, or choose to send them the default language."
        )
        % {"languages": names},
        *problems,
    ]


def translation_content(language, own_language):
    """The page object a campaign compiles for ``language`` (a PUBLISHED Language): its live revision, whose
    ``language`` field takes the locale's code when it was copied unchanged from the original (``own_language``)."""
    page = language.revision.as_object()
    if getattr(page, "language", None) == own_language:
        page.language = language.code
    return page


def own_language(campaign):
    """The campaign's page's ``language`` field (what a translation copied unchanged still carries)."""
    return getattr(_page(campaign), "language", None)


def sent_translations(plan):
    """The Languages of ``plan`` the campaign will send: published, with recipients."""
    if plan is None:
        return []
    return [language for language, count in plan.languages if count and language.status == PUBLISHED]


def compiled_translation(campaign, language):
    """The CompiledEmail of ``language`` (a PUBLISHED Language of ``campaign``), compiled once per campaign object:
    the checks before starting (check_can_send) and the start itself (compile_translations) share it."""
    compiled = campaign.__dict__.setdefault("_wn_compiled_translations", {})
    if language.revision.pk not in compiled:
        compiled[language.revision.pk] = compile_page(translation_content(language, own_language(campaign)))
    return compiled[language.revision.pk]


def compile_sent_translations(campaign, plan):
    """[(Language, CompiledEmail)] of each translation ``campaign`` will send (``plan``: its LanguagePlan), compiled
    exactly as the campaign will compile it, for the pre-flight checks of each language."""
    return [(language, compiled_translation(campaign, language)) for language in sent_translations(plan)]


def language_problem(name, message):
    """A problem of one translation, for people: its language's ``name`` first."""
    return _("%(language)s: %(message)s") % {"language": name, "message": message}


def translation_check_problems(campaign, plan):
    """The pre-flight errors of every translation ``campaign`` will send, named by language (for check_can_send)."""
    return [
        language_problem(language.name, check.message)
        for language, compiled in compile_sent_translations(campaign, plan)
        for check in preflight(compiled)
        if check.level == ERROR
    ]


def campaign_content(campaign, page_id):
    """(revision, page object) that ``campaign`` sends for page ``page_id`` — its own page or one of its
    translations — as it will compile it: the frozen revision once started, else the revision starting would
    freeze (a translation's live one). None when the campaign sends no version of that page."""
    if page_id == campaign.page_id:
        return (campaign.revision, campaign.revision.as_object()) if campaign.revision_id else None
    own = own_language(campaign)
    frozen = CampaignTranslation.objects.filter(campaign=campaign, page_id=page_id).select_related("revision").first()
    if frozen is not None:
        language = Language(frozen.language, frozen.language, PUBLISHED, frozen.page, frozen.revision)
        return frozen.revision, translation_content(language, own)
    if campaign.status not in STARTABLE:  # started without this translation: it sends none of it
        return None
    for language in campaign_languages(campaign):
        if language.status == PUBLISHED and language.page.pk == page_id:
            return language.revision, translation_content(language, own)
    return None


def compile_translations(campaign, compiled):
    """Compile each published translation of ``campaign``'s page once and store it (at start, in its transaction);
    ``compiled``: the campaign's own CompiledEmail, whose links come first. Returns the CampaignTranslation rows."""
    CampaignTranslation.objects.filter(campaign=campaign).delete()
    offset = len(compiled.links)
    rows = []
    for language in campaign_languages(campaign):
        if language.status != PUBLISHED:
            continue
        translated = compiled_translation(campaign, language)
        rows.append(
            CampaignTranslation(
                campaign=campaign,
                language=language.code,
                page=language.page,
                revision=language.revision,
                compiled=translated.to_dict(),
                link_offset=offset,
            )
        )
        offset += len(translated.links)
    return CampaignTranslation.objects.bulk_create(rows)


def planned_languages(campaign):
    """The language codes the campaign was compiled in besides its own (read by the planner)."""
    return list(CampaignTranslation.objects.filter(campaign=campaign).values_list("language", flat=True))


def delivery_language_counts(campaign):
    """{language: deliveries} of a started campaign (one grouped query; "" is its own language)."""
    rows = campaign.deliveries.order_by().values("language").annotate(n=Count("pk"))
    return {row["language"]: row["n"] for row in rows}
