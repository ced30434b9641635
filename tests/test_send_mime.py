"""The MIME builder of the send stage: every message parses back (Python's email parser, policy=default) to exactly
what went in, headers fold and never carry injected lines, and per-delivery identifiers are stable and signed."""

import email
import email.header
import email.policy
import email.quoprimime
import random
import re
from datetime import UTC, datetime

import pytest
from email_validator import validate_email

from wagtail_newsletter.send.dkim_signing import DkimSigner, generate_private_key
from wagtail_newsletter.send.mime import (
    MessageIds,
    MessageSkeleton,
    QuotedPrintableCache,
    UnencodableAddress,
    make_list_id,
    message_id,
    read_verp,
    unsubscribe_mailto,
    verp_return_path,
)
from wagtail_newsletter.tokens import InvalidToken

UNSUBSCRIBE = "https://news.example.org/newsletter/unsubscribe/3f.abcdefghijklmnopqrstuvwx/"
MAILTO = "mailto:unsubscribe+3f.abcdefghijklmnopqrstuvwx@news.example.org?subject=unsubscribe"


def skeleton(**kwargs):
    options = {"from_name": "Neighbourhood News", "from_email": "news@example.org", "reply_to": "hello@example.org"}
    return MessageSkeleton(**{**options, **kwargs})


def render(sk=None, subject="Spring news", html="<p>Hello</p>", text="Hello", **kwargs):
    options = {
        "to_email": "reader@example.com",
        "message_id": "<1.abc@example.org>",
        "list_unsubscribe_url": UNSUBSCRIBE,
        "list_unsubscribe_mailto": MAILTO,
    }
    options.update(kwargs)
    return (sk or skeleton()).render(subject=subject, html=html, text=text, **options)


def parse(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def parts(message):
    plain, html = list(message.iter_parts())
    return plain, html


def content(part):
    """A part's decoded text; the parser keeps the CRLF line ends of the wire format."""
    return part.get_content().replace("\r\n", "\n")


def assert_well_formed(raw):
    """CRLF everywhere, header lines ≤ 78, body lines ≤ 76, no lone "." line, no raw trailing whitespace in bodies."""
    assert b"\r\n" in raw and not re.search(rb"[^\r]\n|\r[^\n]", raw)
    head, _, body = raw.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        # Longer only when it is one word that cannot be folded (a long URL), and never over 998.
        assert len(line) <= 78 or b" " not in re.sub(rb"^([\w-]+: | )", b"", line), line
        assert len(line) <= 998
    for line in body.split(b"\r\n"):
        assert len(line) <= 76, line
        assert line != b"."
        assert not line.endswith((b" ", b"\t")), line
    assert max(raw) < 128, "7-bit only"


def test_message_parses_with_all_headers_and_both_parts():
    sk = skeleton(
        feedback_id="12:34:newsletter:wagtail-newsletter", extra_headers=[("Auto-Submitted", "auto-generated")]
    )
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    raw = render(sk, html="<p>Hello <b>Zoë</b></p>\n", text="Hello Zoë\n", date=when)
    assert_well_formed(raw)
    message = parse(raw)
    assert message["From"] == "Neighbourhood News <news@example.org>"
    assert message["To"] == "reader@example.com"
    assert message["Reply-To"] == "hello@example.org"
    assert message["Subject"] == "Spring news"
    assert message["Date"].datetime == when
    assert message["Message-ID"] == "<1.abc@example.org>"
    assert message["MIME-Version"] == "1.0"
    assert message["List-Id"] == "<wagtail-newsletter.example.org>"
    assert message["Feedback-ID"] == "12:34:newsletter:wagtail-newsletter"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <{MAILTO}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    plain, html = parts(message)
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    for part in (plain, html):
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
    assert content(plain) == "Hello Zoë\n"
    assert content(html) == "<p>Hello <b>Zoë</b></p>\n"


def test_every_header_appears_once():
    message = parse(render(skeleton(feedback_id="1:2:x:y")))
    names = [name.lower() for name in message.keys()]
    assert len(names) == len(set(names))


TRICKY_LINES = [
    ".",
    ". starts with a dot",
    "..",
    "From the start",
    "a = b == c =3D d",
    "trailing space ",
    "trailing tab\t",
    "tab\tinside",
    "x" * 75 + ".",
    "y" * 74 + "=",
    "z" * 200,
    "é" * 100,
    "mixed é " * 30,
    "see https://example.org/c/1.abc/?a=1&b=2 and http://x.example/ then https://",
    "https://example.org/" + "p" * 120,
    "form\x0cfeed",
    "",
    "   ",
    "日本語のテキスト" * 20,
    "emoji 😀 " * 20,
    "=_nl_ looks like a boundary",
]


@pytest.mark.parametrize("line", TRICKY_LINES)
def test_bodies_decode_to_the_input(line):
    text = f"first\n{line}\nlast"
    html = f"<p>{line}</p>\n{line}"
    raw = render(html=html, text=text)
    assert_well_formed(raw)
    plain, html_part = parts(parse(raw))
    assert content(plain) == text
    assert content(html_part) == html


def test_crlf_and_cr_input_line_ends_become_crlf():
    raw = render(text="one\r\ntwo\rthree\nfour", html="a\r\nb")
    assert_well_formed(raw)
    plain, html = parts(parse(raw))
    assert content(plain) == "one\ntwo\nthree\nfour"
    assert content(html) == "a\nb"


def test_random_texts_round_trip_through_one_skeleton():
    """Many personalised variants through one skeleton (its cache cleared often) all decode exactly."""
    rng = random.Random(4)
    alphabet = ["a", "b", " ", "  ", "\t", ".", "=", "é", "—", "\n", "\n.", "http", "https://x.example/", "?a=b", "😀"]
    sk = skeleton()
    sk._qp.limit = 50
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        html = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
        raw = render(sk, html=html, text=text)
        assert_well_formed(raw)
        plain, html_part = parts(parse(raw))
        assert content(plain) == text.replace("\r", "")
        assert content(html_part) == html


def test_cached_encoding_equals_fresh_encoding_when_decoded():
    base = "<p>Intro</p>\n" + "<p>Static paragraph with a link <a href='https://example.org/c/@/'>here</a></p>\n" * 30
    cache = QuotedPrintableCache()
    for n in range(20):
        html = base.replace("@", str(n))
        assert email.quoprimime.body_decode(cache.encode(html).decode().replace("\r\n", "\n")) == html


def test_header_injection_in_every_value_adds_no_header():
    attack = "Evil\r\nBcc: victim@example.net\nX-Injected: 1\rContent-Type: text/plain"
    sk = skeleton(
        from_name=attack,
        feedback_id=attack,
        list_id=f"{attack} <news.example.org>",
        extra_headers=[("X-Newsletter-Test", attack)],
    )
    raw = render(sk, subject=attack, to_name=attack, message_id="<1@x>\r\nBcc: a@b")
    message = parse(raw)
    names = {name.lower() for name in message.keys()}
    assert not names & {"bcc", "x-injected"}
    assert message.get_content_type() == "multipart/alternative"
    assert "Bcc: victim@example.net" in message["Subject"]
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    assert message["To"].addresses[0].addr_spec == "reader@example.com"
    head = raw.partition(b"\r\n\r\n")[0]
    for line in head.split(b"\r\n"):  # every line is a known header or a continuation
        assert line[:1] in (b" ", b"\t") or line.split(b":")[0].lower() in {
            b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"list-id", b"feedback-id",
            b"x-newsletter-test", b"list-unsubscribe", b"list-unsubscribe-post", b"mime-version", b"content-type",
        }  # fmt: skip


def test_invalid_addresses_and_header_names_are_refused():
    with pytest.raises(ValueError):
        render(to_email="not an address")
    with pytest.raises(ValueError):
        render(to_email="a@b.org>, <c@d.org")
    with pytest.raises(UnencodableAddress):
        render(to_email="zoë@example.org")
    with pytest.raises(ValueError):
        skeleton(extra_headers=[("Bad Name", "x")])
    with pytest.raises(ValueError):
        skeleton(extra_headers=[("X-A:\r\nBcc", "x")])


def test_internationalised_domain_is_idna_encoded():
    message = parse(render(to_email="reader@bücher.example"))
    assert message["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_domains_are_encoded_with_idna_2008_as_addresses_are_validated():
    """"ß" is where IDNA 2003 (the standard library's codec) and 2008 (email-validator's, hence the stored
    addresses') differ: 2003 maps it to "ss", a different domain, maybe someone else's."""
    validated = validate_email("reader@straße.example", check_deliverability=False).ascii_email.split("@")[1]
    assert validated == "xn--strae-oqa.example"
    message = parse(render(sk=skeleton(from_email="news@straße.example"), to_email="reader@straße.example"))
    assert message["To"].addresses[0].domain == message["From"].addresses[0].domain == validated
    assert make_list_id("straße.example", label="news") == f"<news.{validated}>"
    assert message_id(7, "straße.example").endswith(f"@{validated}>")
    assert DkimSigner("straße.example", "newsletter", generate_private_key()).domain == validated


def decoded_display_name(raw, header):
    """The display name as an RFC 2047 reader sees it: whitespace between encoded words dropped (§6.2), which
    Python's address parser does not do (it inserts a space), so the legacy decoder reads names here."""
    value = email.message_from_bytes(raw, policy=email.policy.compat32)[header]
    name = str(email.header.make_header(email.header.decode_header(value.rpartition("<")[0])))
    return name.strip()


@pytest.mark.parametrize(
    "name", ['Café "Le Zinc", Paris', "Smith, John", 'A "quoted" \\ one', "Zoë", "=?utf-8?q?fake?=", "Ünïcødé " * 12]
)
def test_display_names_quoted_or_encoded_and_decoded_back(name):
    raw = render(skeleton(from_name=name), to_name=name)
    assert_well_formed(raw)
    message = parse(raw)
    assert message["From"].addresses[0].addr_spec == "news@example.org"
    assert message["To"].addresses[0].addr_spec == "reader@example.com"
    if name.isascii() and "=?" not in name:
        assert message["From"].addresses[0].display_name == name
        assert message["To"].addresses[0].display_name == name
    else:
        assert decoded_display_name(raw, "From") == name.strip()
        assert decoded_display_name(raw, "To") == name.strip()
    if len(name.encode()) <= 42:  # one encoded word: Python's parser reads it too
        assert message["From"].addresses[0].display_name == name


def test_long_ascii_subject_folds_at_spaces_without_encoded_words():
    subject = "Our spring newsletter: gardens, workshops, the Saturday market and a lot more besides, read on"
    raw = render(subject=subject)
    assert_well_formed(raw)
    head = raw.partition(b"\r\n\r\n")[0].decode()
    subject_lines = re.search(r"Subject: .*?\r\n(?! )", head + "\r\nX", re.S).group()
    assert "\r\n " in subject_lines and "=?" not in subject_lines
    assert parse(raw)["Subject"] == subject


@pytest.mark.parametrize(
    "subject",
    [
        "Café ☕ du printemps",
        "Nouvelles de printemps à Genève : jardins, ateliers et marché — lisez tout " * 3,
        "😀" * 40,
    ],
)
def test_non_ascii_subject_uses_encoded_words_and_decodes(subject):
    raw = render(subject=subject)
    assert_well_formed(raw)
    assert b"Subject: =?utf-8?b?" in raw
    assert parse(raw)["Subject"] == subject.strip()


def test_subject_that_looks_like_an_encoded_word_stays_literal():
    assert parse(render(subject="Price =?utf-8?q?x?= today"))["Subject"] == "Price =?utf-8?q?x?= today"


def test_long_list_unsubscribe_folds_after_the_comma_and_unfolds_back():
    url = "https://news.example.org/newsletter/unsubscribe/" + "a1b2c3" * 12 + "/"
    raw = render(list_unsubscribe_url=url)
    assert f"List-Unsubscribe: <{url}>,\r\n <{MAILTO}>\r\n".encode() in raw
    assert b"=?" not in raw.partition(b"\r\n\r\n")[0].replace(b"Subject: =?", b"")
    assert parse(raw)["List-Unsubscribe"] == f"<{url}>, <{MAILTO}>"


def test_one_click_header_only_with_an_https_url():
    message = parse(render(list_unsubscribe_url=None))
    assert message["List-Unsubscribe"] == f"<{MAILTO}>"
    assert message["List-Unsubscribe-Post"] is None
    message = parse(render(list_unsubscribe_url=None, list_unsubscribe_mailto=None))
    assert message["List-Unsubscribe"] is None
    message = parse(render(list_unsubscribe_mailto="unsubscribe+x@example.org"))
    assert message["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <mailto:unsubscribe+x@example.org>"


def test_unsafe_characters_in_urls_are_percent_encoded():
    message = parse(render(list_unsubscribe_url="https://example.org/u/a>b, <c d/"))
    assert message["List-Unsubscribe"].startswith("<https://example.org/u/a%3Eb%2C%20%3Cc%20d/>, ")


def test_list_id_from_settings_or_given(settings):
    settings.WAGTAIL_NEWSLETTER = {"SENDER_ID": "Acme Mail!"}
    assert make_list_id("Example.ORG") == "<acme-mail.example.org>"
    assert make_list_id("example.org", name="Neighbourhood News") == "Neighbourhood News <acme-mail.example.org>"
    assert parse(render(skeleton()))["List-Id"] == "<acme-mail.example.org>"
    message = parse(render(skeleton(list_id="Café news <cafe.example.org>")))
    assert message["List-Id"] == "Café news <cafe.example.org>"
    assert parse(render(skeleton(list_id="")))["List-Id"] is None


def test_boundary_is_picked_again_if_it_occurs_in_a_part():
    sk = skeleton()
    sk._new_boundary(b"Hello")
    raw = render(sk, text="Hello there", html="<p>Hello</p>")
    message = parse(raw)
    assert sk.boundary != b"Hello" and sk.boundary.startswith(b"=_nl_")
    assert message.get_boundary() == sk.boundary.decode()
    plain, html = parts(message)
    assert content(plain) == "Hello there"
    assert content(html) == "<p>Hello</p>"


def test_date_is_now_when_not_given():
    before = datetime.now(UTC).replace(microsecond=0)
    date = parse(render())["Date"].datetime
    assert before <= date <= datetime.now(UTC)


def test_message_id_is_stable_per_delivery_and_distinct(settings):
    first = message_id(12345, "example.org")
    assert first == message_id(12345, "example.org") == MessageIds("example.org")(12345)
    assert first.startswith("<9ix.") and first.endswith("@example.org>")
    assert len({message_id(n, "example.org") for n in range(1000)}) == 1000
    assert message_id(None, "example.org") != message_id(None, "example.org")
    settings.SECRET_KEY = "another secret key for another site" * 2
    assert message_id(12345, "example.org") != first
    assert parse(render(message_id=first))["Message-ID"] == first


def test_verp_return_path_round_trips_and_rejects_tampering(settings):
    address = verp_return_path(987654321, "bounces.example.org")
    local, _, domain = address.partition("@")
    assert local.startswith("bounces+") and len(local) <= 64 and domain == "bounces.example.org"
    assert read_verp(address) == 987654321
    assert read_verp(f"<{address.upper()}>") == 987654321  # mail systems may change the case
    token = local.partition("+")[2]
    for forged in (
        address.replace(token[:3], "zzz"),
        f"bounces+{token[:-1]}x@bounces.example.org",
        "bounces@bounces.example.org",
        unsubscribe_mailto(987654321, "example.org").removeprefix("mailto:").partition("?")[0],
    ):
        with pytest.raises(InvalidToken):
            read_verp(forged)
    settings.WAGTAIL_NEWSLETTER = {"RETURN_PATH_LOCAL_PART": "x" * 40}
    with pytest.raises(ValueError):
        verp_return_path(987654321, "example.org")


def test_verp_tokens_survive_a_secret_key_rotation(settings):
    address = verp_return_path(42, "example.org")
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a brand new secret key that is long enough to be taken seriously"
    assert read_verp(address) == 42


def test_pieces_encode_to_the_same_text_as_the_joined_string():
    """personalise(..., pieces=True) output: literals encoded once, values between them, soft breaks at joins."""
    import quopri
    import random

    from wagtail_newsletter.send.mime import QuotedPrintableCache

    rng = random.Random(5)
    alphabet = ["a", "b", " ", "\n", ".", "=", "é", "😀", "\t", "http://x.org/?a=1&b=2", "x" * 90]
    cache = QuotedPrintableCache()
    literals = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(30)]
    for _round in range(200):
        pieces = []
        for literal in literals:
            pieces.append(literal)
            pieces.append("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))))
        encoded = cache.encode_pieces(pieces)
        assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
        assert b"\n" not in encoded.replace(b"\r\n", b"")
        expected = "".join(pieces).replace("\n", "\r\n").encode()
        assert quopri.decodestring(encoded) == expected
