"""French translations: real user-facing strings come out in French, and the catalogues are complete.

The .po files are read by a small parser (no extra dependency); the compiled .mo files are read
with the standard library's ``gettext``, so a forgotten ``compilemessages`` fails here too.
"""

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

import wagtail_newsletter
from wagtail_newsletter.audience.models import Status
from wagtail_newsletter.models import SubscriptionForm

from .signup_fixtures import subscribe_url

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = [
    Path(wagtail_newsletter.__file__).parent / "locale" / "fr" / "LC_MESSAGES" / "django.po",  # the installed one
    ROOT / "example_site" / "locale" / "fr" / "LC_MESSAGES" / "django.po",
]
catalogue_ids = [path.parent.parent.parent.parent.name for path in CATALOGUES]

# What must survive translation untouched: %(name)s / %s / %d, the names in {{ variables }} (a quoted
# default such as {{ first_name|default:"there" }} is text, so it is translated), HTML tags.
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\{\s*[^|}\s]+|</?\w+[^>]*>")


def read_po(path):
    """The entries of a .po file as dicts: flags, msgctxt (when given), msgid, msgid_plural, msgstr (list of forms)."""
    entries = []
    for block in path.read_text(encoding="utf-8").strip().split("\n\n"):
        entry = {"flags": set(), "msgid": None, "msgid_plural": None, "msgstr": {}}
        current = None
        for line in block.splitlines():
            if line.startswith("#,"):
                entry["flags"].update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#~"):
                entry["obsolete"] = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                text = ast.literal_eval(line)
                if current[0] == "msgstr":
                    entry["msgstr"][current[1]] += text
                else:
                    entry[current[0]] += text
            else:
                keyword, _space, quoted = line.partition(" ")
                match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
                if match or keyword == "msgstr":
                    current = ("msgstr", int(match.group(1)) if match else 0)
                    entry["msgstr"][current[1]] = ast.literal_eval(quoted)
                else:
                    current = (keyword, None)
                    entry[keyword] = ast.literal_eval(quoted)
        entries.append(entry)
    return [entry for entry in entries if entry["msgid"]]  # drop the header


def test_status_labels_are_french():
    with translation.override("fr"):
        assert [str(label) for label in Status.labels] == [
            "En attente de confirmation",
            "Abonné(e)",
            "Désabonné(e)",
            "Rebond",
            "Plainte",
        ]


@pytest.mark.django_db
def test_subscribe_button_defaults_to_french_for_a_form_created_in_french():
    with translation.override("fr"):
        form = SubscriptionForm.objects.create(name="Pied de page")
    form.refresh_from_db()  # the stored text, not the lazy default
    assert form.button_label == "S’inscrire"


@pytest.mark.django_db
def test_subscribe_page_speaks_the_visitors_language(client, signup_snippet):
    response = client.get(subscribe_url(signup_snippet), HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200
    assert "Adresse e-mail" in response.content.decode()


@pytest.mark.django_db
def test_invalid_confirmation_link_page_is_french(client):
    url = reverse("wagtail_newsletter:confirm", args=["not-a-valid-token"])
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 404
    assert "Lien invalide ou expiré" in response.content.decode()


def test_plural_forms_follow_french_rules():
    # French uses the singular for 0 and 1.
    with translation.override("fr"):
        for count, expected in [(0, "0 abonné supprimé."), (1, "1 abonné supprimé."), (2, "2 abonnés supprimés.")]:
            text = translation.ngettext("%(count)d subscriber deleted.", "%(count)d subscribers deleted.", count)
            assert text % {"count": count} == expected


def test_example_site_outbox_is_french():
    with translation.override("fr"):
        assert translation.gettext("Outbox") == "Boîte d’envoi"


@pytest.mark.parametrize("po_path", CATALOGUES, ids=catalogue_ids)
def test_catalogue_has_no_untranslated_entries(po_path):
    untranslated = [entry["msgid"] for entry in read_po(po_path) if not all(entry["msgstr"].values())]
    assert untranslated == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=catalogue_ids)
def test_catalogue_has_no_fuzzy_or_obsolete_entries(po_path):
    suspicious = [e["msgid"] for e in read_po(po_path) if "fuzzy" in e["flags"] or e.get("obsolete")]
    assert suspicious == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=catalogue_ids)
def test_translations_keep_placeholders_and_html(po_path):
    broken = []
    for entry in read_po(po_path):
        sources = [entry["msgid"], entry["msgid_plural"] or entry["msgid"]]
        for index, translated in entry["msgstr"].items():
            if sorted(PLACEHOLDER.findall(sources[min(index, 1)])) != sorted(PLACEHOLDER.findall(translated)):
                broken.append(entry["msgid"])
    assert broken == []


@pytest.mark.parametrize("po_path", CATALOGUES, ids=catalogue_ids)
def test_compiled_catalogue_matches_the_po_file(po_path):
    with po_path.with_suffix(".mo").open("rb") as mo_file:
        compiled = gettext.GNUTranslations(mo_file)
    stale = []
    for entry in read_po(po_path):
        context = entry.get("msgctxt")
        if entry["msgid_plural"] is None:
            found = compiled.pgettext(context, entry["msgid"]) if context else compiled.gettext(entry["msgid"])
            if found != entry["msgstr"][0]:
                stale.append(entry["msgid"])
        elif context:
            if compiled.npgettext(context, entry["msgid"], entry["msgid_plural"], 5) != entry["msgstr"][1]:
                stale.append(entry["msgid"])
        elif compiled.ngettext(entry["msgid"], entry["msgid_plural"], 5) != entry["msgstr"][1]:
            stale.append(entry["msgid"])
    assert stale == []
