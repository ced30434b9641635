"""Mail that answers a newsletter without being a bounce: vacation notices, auto-responders (RFC 3834) and
challenge-response systems (Boxbe, Bluebottle …) asking the sender to prove it is a person."""

import re

from .message_parts import header_text

# Headers that auto-responders set. RFC 3834's Auto-Submitted is not among them: MTAs put it on bounces too.
_AUTO_HEADERS = {"x-autoreply", "x-autorespond", "x-autoresponder", "x-vacation", "x-auto-reply"}
_AUTO_PRECEDENCE = {"auto_reply", "auto-reply", "autoreply"}

# Subjects of vacation and auto-reply notices in the languages readers write in.
AUTOREPLY_SUBJECT = re.compile(
    r"^\W*(?:auto(?:matic|matische?|matisch)?[ _:-]*(?:reply|response|respond|antwort|antwoord|answer|svar|mated)"
    r"|auto:|autoreply|autosvar|automatisch\w*\s+antwoord|out\s+of\s+(?:the\s+)?office|o\.o\.o\b|ooo\b"
    r"|on\s+(?:vacation|holiday|leave)|vacation|away\s+from|abwesenheit|abwesend|absence|absent"
    r"|r[ée]ponse\s+automatique|risposta\s+automatica|respuesta\s+autom[aá]tica|resposta\s+autom[aá]tica"
    r"|automatyczna\s+odpowied[zź]|odpowied[zź]\s+automatyczna|autom[aá]tick[aá]\s+odpov[eě]d|fuera\s+de\s+la\s+oficina"
    r"|ausser\s+haus|au[sß]er\s+haus|im\s+urlaub|en\s+vacances|hors\s+du\s+bureau|fora\s+do\s+escrit[oó]rio"
    r"|自動応答|自動返信|不在|自动回复)",
    re.IGNORECASE,
)
# Auto-reply wording in the body, for responders that mark neither header nor subject. Body patterns here are
# matched on lower-cased text (``Parts.lowered``): case-insensitive alternations this long are slow.
AUTOREPLY_TEXT = re.compile(
    r"(?:\bi\s+am|\bi'm|\bwill\s+be)\s+(?:currently\s+)?(?:out\s+of\s+(?:the\s+)?office|away|on\s+(?:vacation|holiday"
    r"|leave))|this\s+is\s+an\s+auto(?:matic|mated)?[ -]?(?:reply|response|generated)|auto(?:matic|mated)?"
    r"[ -]?(?:reply|response)|thank\s+you\s+for\s+(?:your|the)\s+(?:e-?mail|message)"
    r"|(?:is|are)\s+out\s+of\s+the\s+office",
)
# Challenge-response: the reader's filter holds our message until a person answers.
CHALLENGE_TEXT = re.compile(
    r"waitlisted|guest\s+list|added\s+to\s+(?:the\s+|my\s+)?(?:recipient's\s+)?(?:allowed|approved|white|safe|guest"
    r"|trusted)[ -]?(?:senders?\s+)?list|challenge[- ]response|verify\s+(?:that\s+)?you\s+are\s+(?:a\s+)?(?:human"
    r"|person|real)|prove\s+(?:that\s+)?you\s+are\s+(?:a\s+)?(?:human|person|real)|(?:spam|sender)\s+verification\s+"
    r"(?:request|required)|account\s+is\s+protected\s+by",
)
_REPORT_SUBJECT = re.compile(
    r"^\W*report\s+domain:|dmarc\s+aggregate|aggregate\s+report|\btls\s*-?rpt\b|tls\s+report", re.IGNORECASE
)
_CHALLENGE_HEADERS = {"x-boxbe-challenge", "x-bluebottle-request", "x-challenge", "x-cr-puzzleid", "x-spamarrest"}


def autoreply_signals(message):
    """The reasons its headers and subject give to take ``message`` for an auto-reply (empty: none). Mail systems
    never set these on bounces."""
    signals = []
    names = {name.lower() for name in message.keys()}
    if names.intersection(_AUTO_HEADERS):
        signals.append("auto-reply header")
    if header_text(message, "Precedence").lower() in _AUTO_PRECEDENCE:
        signals.append("Precedence: auto_reply")
    if header_text(message, "X-Apple-Action").lower() == "vacation":
        signals.append("X-Apple-Action: VACATION")
    if AUTOREPLY_SUBJECT.search(header_text(message, "Subject")):
        signals.append("auto-reply subject")
    return signals


def is_auto_submitted(message):
    """RFC 3834 ``Auto-Submitted: auto-replied`` — set by auto-responders, and by many MTAs on their bounces."""
    return header_text(message, "Auto-Submitted").lower().startswith("auto-replied")


def is_automatic_report(message):
    """DMARC aggregate and SMTP TLS reports (RFC 7489, RFC 8460) that reach the bounce address: not bounces."""
    return bool(_REPORT_SUBJECT.search(header_text(message, "Subject")))


def is_challenge(message, lowered):
    """True when ``message`` asks the sender to confirm it is a person (``lowered``: its body, lower-cased)."""
    if {name.lower() for name in message.keys()}.intersection(_CHALLENGE_HEADERS):
        return True
    return bool(CHALLENGE_TEXT.search(lowered))


def reads_like_autoreply(lowered):
    return bool(AUTOREPLY_TEXT.search(lowered))
