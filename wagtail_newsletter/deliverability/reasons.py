"""Why a delivery failed, read from RFC 3463 status codes, SMTP reply codes and the phrases MTAs write.

The phrase lists follow the reasons well-kept bounce parsers distinguish (Sisimai's userunknown, hostunknown,
mailboxfull, blocked, spamdetected, expired …, Mail::DeliveryStatus::BounceParser's std_reason), grouped into our
classes. They are matched on a failure's own diagnostic first; the status code decides when no phrase does.
"""

import re

from .verdict import HARD, POLICY, SOFT, TRANSIENT

STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.]*\d)")
# A basic SMTP reply code at the start of a reply (``550 …``, ``550-…``, ``#550``), not inside a number.
SMTP_REPLY = re.compile(r"(?<![\w.#-])#?([245][0-5]\d)(?=[ \t-]|$)", re.MULTILINE)


def _phrases(*patterns):
    # Matched against lower-cased text: IGNORECASE makes these long alternations several times slower.
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))


_MAILBOX = (
    r"(?:mail ?box|mail ?folder|in-?box|mail(?: account)?|account|user|recipient|addressee|e-?mail address|address)"
)

# Our sender address refused (sender verification, unknown sender domain): the sender's problem, read before the
# "unknown"/"not found" phrases of a dead recipient.
SENDER_PHRASES = _phrases(
    r"sender\s+address\s+rejected|sender\s+(?:domain|address)\s+(?:\w+\s+){0,2}(?:does\s+not\s+exist|not\s+found"
    r"|unknown|invalid|must\s+exist)|(?:unverified|bad|unknown|invalid)\s+sender|sender\s+verif\w*\s+failed",
)

# The recipient exists but cannot take mail now: full, over quota, message too big for it, suspended.
SOFT_PHRASES = _phrases(
    rf"{_MAILBOX}(?:'s)?\s+(?:is\s+|has\s+been\s+)?(?:full|over\s*(?:disk\s+)?quota|overloaded)",
    r"over\s+(?:the\s+)?(?:disk\s+|storage\s+|mailbox\s+)?(?:quota|limit)",
    r"quota\s+(?:exceeded|exceed|full|violation|reached)|exceeded\s+(?:(?:the|their|his|her|its)\s+)?(?:\w+\s+){0,2}quota",
    r"(?:disk|storage|mailbox|mail ?folder|inbox)\s+(?:quota\s+)?(?:is\s+)?(?:full|exceeded|over)",
    r"(?:would\s+)?exceeds?\s+(?:the\s+)?(?:\w+\s+)?(?:quota|storage\s+allocation|mailbox\s+size)",
    rf"{_MAILBOX}\s+(?:size\s+)?exceeds|exceeded\s+(?:its|the|their|your)\s+(?:\w+\s+){{0,2}}(?:limit|allocation)",
    r"(?:size|storage|space|disk|mailbox)\s+limit\s+(?:exceeded|reached)|exdiskquota|diskquota|insufficient\s+(?:disk\s+)?(?:space|storage)|not\s+enough\s+(?:disk\s+)?space",
    r"mailbox\s+size\s+limit|too\s+many\s+messages\s+(?:in|on)|(?:zu\s*viele|zuviele)\s+(?:mails|nachrichten)",
    r"postfach\s+(?:ist\s+)?(?:voll|überfüllt)|speicherplatz|bo[iî]te\s+(?:aux\s+lettres\s+)?pleine|buz[oó]n\s+lleno",
    r"message\s+(?:is\s+)?too\s+(?:big|large)|message\s+size\s+exceeds|exceeds?\s+(?:the\s+)?(?:\w+\s+){0,3}"
    r"(?:message\s+)?size\s+limit|size\s+exceeds|message\s+length\s+exceeds",
    rf"{_MAILBOX}\s+(?:is\s+|has\s+been\s+)?(?:temporarily\s+)?(?:suspended|inactive|frozen)",
)

# The address or its domain does not exist (or no longer does).
HARD_PHRASES = _phrases(
    r"recipient\s+address\s+rejected:\s+access\s+denied",  # Exchange Online's answer for a nonexistent address
    r"user\s+unknown|unknown\s+(?:user|recipient|address|addressee|mailbox|local[- ]?part|e-?mail\s+address|alias)",
    r"no\s+such\s+(?:user|mailbox|recipient|address|account|person|local\s+user|domain|host)",
    rf"{_MAILBOX}\s+(?:name\s+)?(?:does\s+not|doesn't|did\s+not|doesnt)\s+exist",
    rf"{_MAILBOX}\s+(?:is\s+)?(?:unknown|not\s+found|not\s+known|invalid|unavailable|not\s+recognized|not\s+valid"
    r"|no\s+longer\s+(?:active|valid|available|in\s+use|exists?))",
    r"(?:invalid|bad|non-?existent|illegal)\s+(?:recipient|mailbox|address|user|destination\s+address)",
    r"(?:is\s+)?not\s+(?:a\s+)?(?:known|valid)\s+(?:user|recipient|mailbox|address)",
    r"not\s+listed\s+in\s+(?:the\s+)?(?:domino\s+directory|public\s+name|address\s+book|names?\s+and\s+address)",
    r"no\s+mailbox\s+(?:here\s+)?by\s+that\s+name|mailbox\s+not\s+found|recipient\s+not\s+found|user\s+not\s+found",
    r"address(?:ee)?\s+(?:not\s+found|unknown)|un-?rout(?:e)?able\s+address|no\s+longer\s+(?:on\s+(?:this\s+)?server"
    r"|employed|with|at)",
    r"host\s+(?:or\s+domain\s+name\s+)?(?:not\s+found|unknown)|unknown\s+host|domain\s+(?:name\s+)?not\s+found",
    r"domain\s+(?:does\s+not|doesn't)\s+exist|name\s+or\s+service\s+not\s+known|no\s+(?:valid\s+)?mx\b|null\s+mx",
    r"unrouteable\s+(?:mail\s+)?domain|host\s+not\s+found|unable\s+to\s+resolve|domain\s+(?:is\s+)?invalid",
    r"account\s+(?:has\s+been\s+|is\s+)?(?:disabled|discontinued|deactivated|closed|removed|terminated|deleted"
    r"|expired|cancell?ed)",
    rf"{_MAILBOX}\s+(?:has\s+been\s+|is\s+)?(?:disabled|deactivated|closed|removed|deleted)",
    r"(?:does\s+not|doesn't|no\s+longer)\s+exists?|(?:could\s+not|couldn't|cannot|can't)\s+be\s+found"
    r"|(?:wasn't|was\s+not)\s+found\s+at|mailbox\s+unavailable|not\s+our\s+customer|this\s+user\s+doesn't\s+have\s+a|does\s+not\s+have\s+an?\s+account",
    r"(?:has|have)\s+moved|address\s+(?:has\s+)?changed|recipient\s+name\s+is\s+not\s+recognized|user\s+not\s+local",
    r"(?:domain|host)\s+does\s+not\s+accept\s+(?:e-?)?mail(?!\s+(?:from|with))|mailbox\s+(?:is\s+)?not\s+available",
    r"(?:unbekannt|existiert\s+nicht|inconnu|n'existe\s+pas|desconocido|no\s+existe|sconosciuto|inesistente)",
)

# Refused for the sender: content, reputation, authentication, relaying. (The sender is blocked, not the address.)
POLICY_PHRASES = _phrases(
    r"spam|junk\s*mail|bulk\s+mail|black\s*list|block\s*list|blocklisted|blacklisted|\brbl\b|dnsbl|spamhaus|spamcop",
    r"\bsorbs\b|barracuda|reputation|\bdmarc\b|\bspf\b|\bdkim\b|(?:sender|message)\s+authentication",
    r"not\s+authenticated|unauthenticated|authentication\s+(?:failed|required)|reverse\s+dns|\bptr\b|\brdns\b",
    r"relay(?:ing)?\s+(?:access\s+)?(?:denied|not\s+permitted|not\s+allowed|prohibited)|unable\s+to\s+relay",
    r"not\s+permitted\s+to\s+relay|we\s+do\s+not\s+relay|access\s+denied|(?:policy|content)\s+(?:reasons?|violation"
    r"|rejection|filter)|rejected\s+(?:for|by|due\s+to)\s+(?:policy|content|security)",
    r"virus|malware|phish|banned|prohibited|blocked|block(?:ing)?\s+(?:mail|messages)\s+from|suspicious",
    r"not\s+accepting\s+(?:mail|messages|e-?mail)|does\s+not\s+accept\s+(?:mail|messages)\s+(?:from|with)",
    r"refused\s+to\s+accept|(?:sender|from\s+address|sending\s+(?:ip|host|domain))\s+(?:\w+\s+){0,2}(?:rejected"
    r"|denied|refused|blocked|not\s+allowed)|network\s+not\s+allowed|restricted\s+(?:sms\s+)?e-?mail",
    r"not\s+compliant\s+with\s+rfc|rfc\s*\d+\s+compliant|message\s+(?:content\s+)?rejected|content\s+rejected",
    r"attachments?\s+(?:\w+\s+){0,3}not\s+(?:allowed|accepted|permitted)|not\s+allowed\s+to\s+send",
    r"starttls|tls\s+(?:is\s+)?required|encryption\s+(?:is\s+)?required|does\s+not\s+comply\s+with|violates\s+rfc"
    r"|filtered|recipient's\s+(?:filter|settings)|user's\s+(?:filter|settings)",
)

# Still trying, or gave up on a temporary condition (timeouts, expiry, connection and resource errors).
TRANSIENT_PHRASES = _phrases(
    r"delay(?:ed)?|will\s+(?:continue\s+to\s+)?(?:retry|try|be\s+retried)|still\s+(?:trying|being\s+retried)",
    r"retry\s+time(?:out)?\s+(?:exceeded|expired)|(?:could|has)\s+not\s+(?:yet\s+)?been\s+(?:delivered|sent)\s+for",
    r"could\s+not\s+(?:be\s+)?(?:delivered|sent)\s+for\s+(?:the\s+)?(?:past|last)|warning:?\s+(?:could\s+not|message"
    r"|delivery)|temporar(?:y|ily)|try\s+(?:again\s+)?later|timed?\s*-?out|connection\s+(?:refused|reset|lost"
    r"|dropped|closed)",
    r"expired|too\s+(?:many|much)\s+(?:connections|concurrent|load)|greylist|grey\s*listed|gray\s*listed|deferred",
    r"service\s+(?:temporarily\s+)?unavailable|resources?\s+(?:temporarily\s+)?unavailable|not\s+responding",
    r"unable\s+to\s+connect|no\s+route\s+to\s+host|network\s+is\s+unreachable|host\s+is\s+down|queued",
    r"(?:system|server)\s+(?:error|busy|failure)|local\s+error\s+in\s+processing|loop\s+detected|too\s+many\s+hops"
    r"|rate\s+limit|rate\s+that\s+prevents|too\s+fast|hosts?\s+(?:have|has)\s+been\s+failing"
    r"|(?:mail|routing)\s+loop",
)

# The most specific reasons first: a full mailbox is often reported with a generic "unavailable".
_PHRASE_ORDER = (
    (POLICY, SENDER_PHRASES),
    (SOFT, SOFT_PHRASES),
    (HARD, HARD_PHRASES),
    (POLICY, POLICY_PHRASES),
    (TRANSIENT, TRANSIENT_PHRASES),
)


MAX_READ = 8000  # a notice's reasons come first; what follows is boilerplate or the returned message


def phrase_class(text):
    """The class that the first matching reason phrase in ``text`` names, or ""."""
    text = (text or "")[:MAX_READ].lower()
    for cls, phrases in _PHRASE_ORDER:
        if phrases.search(text):
            return cls
    return ""


def find_status(text, classes="245"):
    """The first RFC 3463 status code (``X.Y.Z``) of one of ``classes`` in ``text``, or ""."""
    for match in STATUS.finditer(text or ""):
        if match.group(1) in classes:
            return ".".join(match.groups())
    return ""


def find_reply_code(text):
    """The first basic SMTP reply code (``550``) in ``text``, or ""."""
    match = SMTP_REPLY.search(text or "")
    return match.group(1) if match else ""


def status_class(status):
    """The class an RFC 3463 code of a failed (not delayed) delivery names, or "" when the code is too vague."""
    if not status:
        return ""
    klass, subject, detail = (int(number) for number in status.split("."))
    if klass == 2:
        return ""
    if klass == 4:
        return SOFT if (subject, detail) in ((2, 2), (2, 3)) else TRANSIENT
    if subject == 1:
        return POLICY if detail in (7, 8) else HARD  # x.1.7, x.1.8: our sender address is refused
    if subject == 2:
        return HARD if detail == 1 else SOFT
    if subject == 3 and detail == 4:
        return SOFT
    if subject == 4:  # x.4.4 unable to route (no such domain) is final; timeouts, congestion and loops are not
        return {4: HARD, 0: ""}.get(detail, TRANSIENT)
    if subject in (6, 7):
        return POLICY
    return ""


def failure_class(status, diagnostic, context_class=lambda: ""):
    """The class of a final failure: ``status`` its RFC 3463 code ("" if none), ``diagnostic`` the remote reply or
    the MTA's words about this recipient, ``context_class`` a function saying what the rest of the notice says
    (called only when nothing else speaks).

    Words beat codes (receivers misuse codes: quota with 5.7.0, "unknown address" with 5.3.0), and a temporary
    code (4.x.x, 4xx) makes anything but a full mailbox transient.
    """
    reply = find_reply_code(diagnostic)
    temporary = status.startswith("4") or (not status and reply.startswith("4"))
    said = phrase_class(diagnostic)
    if temporary:
        return SOFT if said == SOFT else TRANSIENT
    if said == TRANSIENT and status_class(status):
        said = ""  # "expired", "timed out" boilerplate beside a precise permanent code
    if said:
        return said
    by_status = status_class(status)
    if by_status:
        return by_status
    said = context_class()
    if said == TRANSIENT and (status.startswith("5") or reply.startswith("5")):
        said = ""
    if said:
        return said
    if reply == "552":
        return SOFT
    return HARD
