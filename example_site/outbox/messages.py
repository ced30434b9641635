"""The outbox on disk: one ``.eml`` file per message received by the local SMTP catcher.

A file appears atomically (written to a hidden temporary name, then renamed), so a reader never
sees half a message. Names start with the reception time in nanoseconds: sorting them sorts by age.
"""

import datetime
import email
import email.policy
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

from bs4 import BeautifulSoup
from django.conf import settings
from django.utils import timezone

NAME_PATTERN = re.compile(r"^\d{19,20}-[0-9a-f]{32}\.eml$")
_URL_IN_TEXT = re.compile(r"https?://[^\s<>\"')\]]+")


@dataclass
class OutboxMessage:
    name: str
    received_at: object
    sender: str
    recipients: str
    subject: str
    headers: list = field(default_factory=list)
    text: str = ""
    html: str = ""
    links: list = field(default_factory=list)
    list_unsubscribe: str = ""
    one_click: bool = False
    dkim: dict = field(default_factory=dict)


def outbox_dir():
    return Path(settings.OUTBOX_DIR)


def store_message(raw, directory=None, envelope_from="", envelope_to=()):
    """Write the raw message bytes as a new ``.eml`` file; return its name.

    The SMTP envelope is kept as ``X-Envelope-From``/``X-Envelope-To`` headers (it shows Bcc recipients).
    """
    directory = Path(directory or outbox_dir())
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    envelope = f"X-Envelope-From: {envelope_from}\r\nX-Envelope-To: {', '.join(envelope_to)}\r\n"
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex}.eml"
    temporary = directory / f".{name}.tmp"
    with open(temporary, "wb") as handle:
        handle.write(envelope.encode("ascii", "replace") + raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, directory / name)
    return name


def _received_at(name):
    return timezone.localtime(datetime.datetime.fromtimestamp(int(name.split("-")[0]) / 1e9, tz=datetime.UTC))


def _date_of(headers, name):
    try:
        date = parsedate_to_datetime(headers["Date"])
    except (TypeError, ValueError):
        return _received_at(name)
    # "-0000" (RFC 5322: UTC, zone unknown) parses naive; read as UTC, every date shows in the site's zone.
    return timezone.localtime(date if date.tzinfo else date.replace(tzinfo=datetime.UTC))


def list_messages(directory=None):
    """Summaries (headers only) of every stored message, newest first."""
    directory = Path(directory or outbox_dir())
    if not directory.is_dir():
        return []
    names = sorted((entry.name for entry in os.scandir(directory) if NAME_PATTERN.match(entry.name)), reverse=True)
    summaries = []
    parser = BytesHeaderParser(policy=email.policy.default)
    for name in names:
        try:
            with open(directory / name, "rb") as handle:
                headers = parser.parse(handle)
        except FileNotFoundError:  # cleared meanwhile
            continue
        summaries.append(
            OutboxMessage(
                name=name,
                received_at=_date_of(headers, name),
                sender=str(headers.get("From", "")),
                recipients=str(headers.get("To", "") or headers.get("X-Envelope-To", "")),
                subject=str(headers.get("Subject", "")),
            )
        )
    return summaries


def _links(text, html):
    links = []
    if html:
        for anchor in BeautifulSoup(html, "html.parser").find_all("a", href=True):
            links.append((anchor.get_text(" ", strip=True) or anchor["href"], anchor["href"]))
    links.extend((url, url) for url in _URL_IN_TEXT.findall(text or ""))
    seen, unique = set(), []
    for label, url in links:
        if url.startswith(("http://", "https://")) and url not in seen:
            seen.add(url)
            unique.append((label, url))
    return unique


def _dkim_tags(message):
    """The ``d`` (domain) and ``s`` (selector) tags of the message's DKIM-Signature, if it has one."""
    value = str(message.get("DKIM-Signature", ""))
    tags = dict(re.sub(r"\s+", "", part).split("=", 1) for part in value.split(";") if "=" in part)
    return {key: tags[key] for key in ("d", "s") if key in tags}


def read_message(name, directory=None):
    """The full message ``name`` (headers, text part, HTML part, links); None if there is none."""
    if not NAME_PATTERN.match(name or ""):
        return None
    path = Path(directory or outbox_dir()) / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    message = email.message_from_bytes(raw, policy=email.policy.default)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    text = text_part.get_content() if text_part is not None else ""
    html = html_part.get_content() if html_part is not None else ""
    return OutboxMessage(
        name=name,
        received_at=_date_of(message, name),
        sender=str(message.get("From", "")),
        recipients=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
        headers=[(key, str(value)) for key, value in message.items()],
        text=text,
        html=html,
        links=_links(text, html),
        # What a mailbox provider looks at first: shown above the full header list.
        list_unsubscribe=str(message.get("List-Unsubscribe", "")),
        one_click=str(message.get("List-Unsubscribe-Post", "")).strip() == "List-Unsubscribe=One-Click",
        dkim=_dkim_tags(message),
    )


def clear_messages(directory=None):
    """Delete every stored message; return how many."""
    directory = Path(directory or outbox_dir())
    if not directory.is_dir():
        return 0
    removed = 0
    for entry in os.scandir(directory):
        if NAME_PATTERN.match(entry.name):
            Path(entry.path).unlink(missing_ok=True)
            removed += 1
    return removed
