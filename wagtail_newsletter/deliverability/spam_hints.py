"""SpamAssassin's rules in plain words for editors: what a rule that hit means and what to change.

SpamAssassin has about a thousand rules; these are the ones a newsletter written in the admin can trip over (its
wording, capitals, images, links, headers). Any other rule falls back to SpamAssassin's own description. A pattern
ending in ``_`` matches every rule of that family (``UPPERCASE_`` covers UPPERCASE_50_75 and UPPERCASE_75_100).
"""

import re

from django.utils.translation import gettext_lazy as _

_CAPITALS = _("Much of the text is written in capital letters. Write in sentences; emphasise with bold instead.")
_MONEY = _("The text talks about large sums of money, prizes or winnings, as scams do. Give prices plainly, if at all.")
_PUSHY = _("Pushy sales phrases (“act now”, “limited time”, “click here”). Say plainly what the reader will find.")
_GUARANTEE = _("Promises such as “100% guaranteed”, “no risk” or “money back” are typical of spam. Tone them down.")
_FREE = _("“Free” offers and financial promises are what spam filters look for. Use them sparingly.")
_IMAGES = _(
    "There is little text for the images. Spam often hides its words in pictures: add text, or use fewer images."
)
_HTML_ONLY = _("The message has no plain-text part. Newsletters sent from here always have one: report this.")
_HTML_TEXT_DIFFER = _("The plain-text and HTML versions differ. Both should carry the same content.")
_HIDDEN_TEXT = _("Some text has the same colour as its background, as spam hides words. Make all text readable.")
_BIG_FONT = _("The text uses very large letters. Keep headings at a normal size.")
_SHORT_LINKS = _("A link goes through a URL shortener, which spam filters distrust. Link to the full address.")
_SHORT_LINKED_IMAGE = _("The message is little more than a linked image. Add some text.")
_SUBJECT_CAPS = _("The subject is written in capital letters. Write it as a sentence.")
_SUBJECT_PUNCTUATION = _("The subject has both “!” and “?”. Keep its punctuation calm.")
_SUBJECT_SPAMMY = _("The subject reads like advertising spam (“As seen on”, “Buy”, a dollar amount first). Reword it.")
_DEAR_FRIEND = _("“Dear friend” is a typical spam greeting. Greet readers by name ({{ first_name }}) or not at all.")
_FREEMAIL = _("The sender or reply-to address is at a free webmail provider. Send from an address at your own domain.")
_NO_SUBJECT = _("The message has no subject.")
_OBFUSCATED = _("Words are broken up or disguised (e.g. with dots or symbols), as spam does. Write words plainly.")
_UNSUBSCRIBE_URI = _("The unsubscribe link looks suspicious to spam filters. Use the standard unsubscribe block.")
_SIGNED_ONLY = _(
    "The message is DKIM-signed, but this server could not check the signature (it does not look up DNS). Make "
    "sure the sender domain's DKIM record is published."
)
_DRUGS = _("The text mentions medicines or drugs, a favourite of spam. Leave them out if you can.")
_ADULT = _("The text looks like adult content to spam filters.")

RULE_HINTS = {
    "SUBJ_ALL_CAPS": _SUBJECT_CAPS,
    "PLING_QUERY": _SUBJECT_PUNCTUATION,
    "SUBJ_AS_SEEN": _SUBJECT_SPAMMY,
    "SUBJ_BUY": _SUBJECT_SPAMMY,
    "SUBJ_DOLLARS": _SUBJECT_SPAMMY,
    "ENGLISH_UCE_SUBJECT": _SUBJECT_SPAMMY,
    "MISSING_SUBJECT": _NO_SUBJECT,
    "EMPTY_SUBJECT": _NO_SUBJECT,
    "UPPERCASE_": _CAPITALS,
    "ACT_NOW_CAPS": _PUSHY,
    "ACT_NOW": _PUSHY,
    "LIMITED_TIME_ONLY": _PUSHY,
    "CLICK_BELOW": _PUSHY,
    "CLICK_HERE": _PUSHY,
    "DEAR_FRIEND": _DEAR_FRIEND,
    "DEAR_SOMETHING": _DEAR_FRIEND,
    "GUARANTEED_100_PERCENT": _GUARANTEE,
    "BANG_GUAR": _GUARANTEE,
    "MONEY_BACK": _GUARANTEE,
    "RISK_FREE": _GUARANTEE,
    "NO_RISK": _GUARANTEE,
    "FUZZY_GUARANTEE": _GUARANTEE,
    "LOTS_OF_MONEY": _MONEY,
    "BILLION_DOLLARS": _MONEY,
    "UNCLAIMED_MONEY": _MONEY,
    "US_DOLLARS_": _MONEY,
    "MONEY_": _MONEY,
    "ADVANCE_FEE_": _MONEY,
    "FREE_QUOTE_INSTANT": _FREE,
    "FIN_FREE": _FREE,
    "FREE_MONEY": _FREE,
    "HTML_IMAGE_ONLY_": _IMAGES,
    "HTML_IMAGE_RATIO_": _IMAGES,
    "DC_IMAGE_SPAM_": _IMAGES,
    "DC_GIF_UNO_LARGO": _IMAGES,
    "DC_PNG_UNO_LARGO": _IMAGES,
    "HTML_SHORT_LINK_IMG_": _SHORT_LINKED_IMAGE,
    "MIME_HTML_ONLY": _HTML_ONLY,
    "MIME_HTML_ONLY_MULTI": _HTML_ONLY,
    "MPART_ALT_DIFF": _HTML_TEXT_DIFFER,
    "MPART_ALT_DIFF_COUNT": _HTML_TEXT_DIFFER,
    "HTML_FONT_LOW_CONTRAST": _HIDDEN_TEXT,
    "HTML_FONT_SIZE_LARGE": _BIG_FONT,
    "HTML_FONT_SIZE_HUGE": _BIG_FONT,
    "SHORT_SHORTNER": _SHORT_LINKS,
    "SHORTENED_URL_SRC": _SHORT_LINKS,
    "URI_UNSUBSCRIBE": _UNSUBSCRIBE_URI,
    "FREEMAIL_": _FREEMAIL,
    "GAPPY_SUBJECT": _OBFUSCATED,
    "SUBJECT_FUZZY_": _OBFUSCATED,
    "HTML_OBFUSCATE_": _OBFUSCATED,
    "OBFUSCATING_COMMENT": _OBFUSCATED,
    "DKIM_SIGNED": _SIGNED_ONLY,
    "DRUG_": _DRUGS,
    "SUBJECT_DRUG_": _DRUGS,
    "FREE_PORN": _ADULT,
    "SUBJECT_SEXUAL": _ADULT,
}

# SpamAssassin prefixes some descriptions with the part it looked at; editors don't need it.
_AREA_PREFIX = re.compile(r"^(?:BODY|URI|RAW|HEADER|HTML|MIME|FULL):\s*", re.IGNORECASE)


def rule_hint(name, description=""):
    """The plain-words hint of rule ``name`` (translated), else SpamAssassin's ``description`` without its area
    prefix, else the rule's name."""
    hint = RULE_HINTS.get(name)
    if hint is None:
        family = max((key for key in RULE_HINTS if key.endswith("_") and name.startswith(key)), key=len, default=None)
        hint = RULE_HINTS.get(family)
    if hint is not None:
        return str(hint)
    return _AREA_PREFIX.sub("", description or "").strip() or name
