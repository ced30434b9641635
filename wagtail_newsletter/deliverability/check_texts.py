"""The stored DNS check results in words, and the exact records a domain should publish to pass them.

Checks store codes and figures (``findings``); the admin reads them here, in the reader's language.
"""

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..conf import newsletter_settings
from ..send.dkim_signing import dns_name, dns_record
from . import findings
from .domain_checks import BOUNCE_MX, CHECKS, DKIM, DMARC, RETURN_PATH_SPF, SPF, return_path_domain
from .spf import suggested_record

CHECK_LABELS = {
    SPF: gettext_lazy("SPF"),
    DKIM: gettext_lazy("DKIM"),
    DMARC: gettext_lazy("DMARC"),
    BOUNCE_MX: gettext_lazy("Bounce domain MX"),
    RETURN_PATH_SPF: gettext_lazy("Return-Path SPF"),
}
CHECK_PURPOSES = {
    SPF: gettext_lazy("Allows your sending server to send mail for the domain."),
    DKIM: gettext_lazy("Publishes the key that proves the newsletters were signed by you and not altered."),
    DMARC: gettext_lazy("Tells mailbox providers what to do with mail that fails SPF and DKIM."),
    BOUNCE_MX: gettext_lazy("Lets bounces come back to the Return-Path address, so dead addresses are removed."),
    RETURN_PATH_SPF: gettext_lazy("Allows your sending server to use the Return-Path (bounce) domain."),
}
STATUS_LABELS = {
    findings.OK: gettext_lazy("OK"),
    findings.MISSING: gettext_lazy("Missing"),
    findings.WRONG: gettext_lazy("Wrong"),
    findings.UNKNOWN: gettext_lazy("Unknown, try again"),
}
DMARC_SUGGESTION = "v=DMARC1; p=none; adkim=r; aspf=r"

_TEXTS = {
    "dns-unavailable": gettext_lazy(
        "DNS did not answer (%(error)s). This says nothing about the record: check again later."
    ),
    "spf-missing": gettext_lazy("There is no SPF record (a TXT record starting with “v=spf1”)."),
    "spf-several": gettext_lazy(
        "There are %(count)d SPF records: receivers then ignore them all. Merge them into one."
    ),
    "spf-too-many-lookups": gettext_lazy(
        "The SPF record needs %(count)d DNS lookups, more than the %(limit)d receivers allow (includes count, "
        "with everything they include)."
    ),
    "spf-include-broken": gettext_lazy(
        "The SPF record includes %(domain)s, which has no single SPF record of its own."
    ),
    "spf-no-all": gettext_lazy("The SPF record does not end with “~all” or “-all”."),
    "spf-weak-all": gettext_lazy(
        "The SPF record ends with “%(term)s”, which protects nothing (“+all” even lets anyone send as you): end "
        "it with “~all” or “-all”."
    ),
    "spf-host-missing": gettext_lazy("The SPF record does not allow the sending server (“%(mechanism)s”)."),
    "dkim-no-key": gettext_lazy("This domain has no usable DKIM key: generate one."),
    "dkim-missing": gettext_lazy("There is no DKIM record at this selector."),
    "dkim-several": gettext_lazy("There are %(count)d DKIM records at this selector: keep only ours."),
    "dkim-revoked": gettext_lazy("The DKIM record has an empty key (p=): the key was revoked."),
    "dkim-other-key": gettext_lazy(
        "The DKIM record publishes another key than this domain's: publish the record shown below (or the key "
        "was regenerated since)."
    ),
    "dmarc-missing": gettext_lazy(
        "There is no DMARC record, neither for this domain nor for its organisational domain. Gmail and Yahoo "
        "require one of bulk senders."
    ),
    "dmarc-several": gettext_lazy("There are %(count)d DMARC records: receivers then ignore them all. Keep one."),
    "dmarc-no-policy": gettext_lazy(
        "The DMARC record has no valid policy (p=none, quarantine or reject), it says “%(policy)s”."
    ),
    "dmarc-not-aligned": gettext_lazy(
        "Neither the DKIM signature nor the Return-Path (%(return_path_domain)s) aligns with the From domain, "
        "so DMARC fails."
    ),
    "dmarc-policy": gettext_lazy("Policy “%(policy)s”, published at _dmarc.%(where)s."),
    "dmarc-policy-none": gettext_lazy(
        "“none” only monitors: once all your mail passes, “quarantine” protects your domain better."
    ),
    "dmarc-return-path-not-aligned": gettext_lazy(
        "The Return-Path domain (%(return_path_domain)s) is not aligned with the From domain: DMARC passes "
        "through DKIM alone."
    ),
    "dmarc-dkim-not-aligned": gettext_lazy(
        "The DKIM signature is not aligned with the From domain: DMARC passes through SPF alone."
    ),
    "mx-null": gettext_lazy(
        "%(domain)s publishes a null MX (it receives no mail): receivers refuse mail whose Return-Path is "
        "there, and bounces cannot come back."
    ),
    "mx-missing": gettext_lazy("%(domain)s has no MX record: bounces cannot come back."),
    "mx-implicit": gettext_lazy("%(domain)s has no MX record; mail to it goes to its own address."),
}


def text(code, params):
    """One problem or note in words."""
    template = _TEXTS.get(code)
    if template is None:
        return code
    try:
        return str(template) % params
    except (KeyError, TypeError, ValueError):
        return str(template)


def records_to_publish(sender_domain, check, entry):
    """[{"name", "type", "value"}] that fix ``check`` (its stored ``entry``); [] when nothing exact can be said."""
    domain = sender_domain.domain
    required = list(newsletter_settings.SPF_INCLUDE)
    if check in (SPF, RETURN_PATH_SPF):
        value = suggested_record(entry.get("found") or [], required)
        name = domain if check == SPF else return_path_domain(domain)
        return [{"name": name, "type": "TXT", "value": value}] if value else []
    if check == DKIM and sender_domain.private_key:
        try:
            value = dns_record(sender_domain.private_key)
        except ValueError:
            return []
        return [{"name": dns_name(sender_domain.selector, domain), "type": "TXT", "value": value}]
    if check == DMARC:
        return [{"name": f"_dmarc.{domain}", "type": "TXT", "value": DMARC_SUGGESTION}]
    return []


def described_checks(sender_domain):
    """The stored checks of ``sender_domain`` in the order shown, each with its label, status, texts, records."""
    rows = []
    for check in CHECKS:
        entry = (sender_domain.dns_checks or {}).get(check)
        if entry is None:
            continue
        status = entry.get("status", findings.UNKNOWN)
        rows.append(
            {
                "code": check,
                "label": CHECK_LABELS[check],
                "purpose": CHECK_PURPOSES[check],
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "problems": [text(code, params) for code, params in entry.get("problems", [])],
                "notes": [text(code, params) for code, params in entry.get("notes", [])],
                "found": entry.get("found", []),
                "since": parse_datetime(entry["since"]) if entry.get("since") else None,
                "last_known": STATUS_LABELS.get(entry.get("last_known")) if entry.get("last_known") else None,
                "publish": records_to_publish(sender_domain, check, entry) if status in findings.FAILED else [],
            }
        )
    return rows


def mx_hint():
    return _(
        "Add an MX record for the Return-Path domain pointing to the server of the mailbox where bounces are read "
        "(your mail host tells you its name)."
    )
