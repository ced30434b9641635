"""Benchmark: build and DKIM-sign newsletter messages from a MessageSkeleton, against Django's EmailMultiAlternatives.

    python benchmarks/mime_dkim.py [--messages 5000] [--html-kb 30]

One core, no database, no network. Prints µs per message for: ``render`` without DKIM, the DKIM signature alone
(``DkimSigner.sign`` on a rendered message), ``render`` with DKIM, Django's EmailMultiAlternatives built and
serialised (``message().as_bytes()``), and dkimpy signing the same message with its pure-Python RSA (for reference).
"""

import argparse
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "example_site")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "example.settings")

PARAGRAPH = (
    "Spring brings new projects to the neighbourhood: gardens, workshops and a market every Saturday. "
    "Volunteers are welcome, whatever your experience, and the coffee is on us. "
) * 4
ROW = (
    '<tr><td style="padding: 24px; font-family: Helvetica, Arial, sans-serif; font-size: 16px; line-height: 24px; '
    'color: #333333"><p style="margin: 0 0 16px">{paragraph}{link}</p></td></tr>\n'
)
LINK = ' <a href="https://example.org/newsletter/c/@@TOKEN@@/" style="color: #0b5fff">Read more</a>'
MARK = "@@TOKEN@@"
VARIANTS = 1000  # distinct personalised messages, rendered in turn


def fill(parts, tokens):
    return "".join(part + token for part, token in zip(parts, [*tokens[: len(parts) - 1], ""], strict=True))


def newsletters(html_kb, count):
    """``count`` personalised (html, text) pairs of about ``html_kb`` KB of HTML, like ``personalise`` output:
    20 tracked links (a token per recipient and link, inside long paragraph lines), an unsubscribe link and the
    recipient's (non-ASCII) name differ from one message to the next."""
    rows = []
    while sum(map(len, rows)) < html_kb * 1024:
        link = LINK if len(rows) % 2 == 0 and len(rows) < 40 else ""
        rows.append(ROW.format(paragraph=PARAGRAPH if len(rows) % 3 else "Café, thé — " + PARAGRAPH, link=link))
    html = '<!DOCTYPE html><html><body><table width="100%">\n<tr><td>Hello {name},</td></tr>\n' + "".join(rows)
    html += f'<tr><td><a href="https://example.org/newsletter/u/{MARK}/">Unsubscribe</a></td></tr></table>\n'
    text = "Hello {name},\n\n" + "".join(
        PARAGRAPH + "\n\n" + (f"Read more: https://example.org/newsletter/c/{MARK}/\n\n" if n < 20 else "")
        for n in range(html_kb // 2)
    )
    html_parts, text_parts = html.split(MARK), text.split(MARK)
    variants = []
    for index in range(count):
        tokens = [f"{index:x}.{n:x}.{(index * 7919 + n) % 10**9:024d}" for n in range(len(html_parts))]
        name = f"Zoë {index}"
        variants.append(
            (
                fill(html_parts, tokens).replace("{name}", name),
                fill(text_parts, tokens).replace("{name}", name),
            )
        )
    return variants


def timed(function, count, rounds=5):
    """µs per call: the best of ``rounds`` rounds (other processes on the machine only ever slow a round down)."""
    best = float("inf")
    per_round = max(count // rounds, 1)
    for round_number in range(rounds):
        start = time.process_time()
        for index in range(round_number * per_round, (round_number + 1) * per_round):
            function(index)
        best = min(best, (time.process_time() - start) / per_round * 1e6)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--html-kb", type=int, default=30)
    options = parser.parse_args()

    import django

    django.setup()
    import dkim
    from django.core.mail import EmailMultiAlternatives

    from wagtail_newsletter.send.dkim_signing import DkimSigner, generate_private_key
    from wagtail_newsletter.send.mime import MessageIds, MessageSkeleton, unsubscribe_mailto
    from wagtail_newsletter.tokens import LinkSigner

    mailto_signer = LinkSigner("unsubscribe")  # one per batch, as workers do

    key = generate_private_key()
    signer = DkimSigner("example.org", "newsletter", key)
    ids = MessageIds("example.org")
    variants = newsletters(options.html_kb, min(VARIANTS, options.messages))
    subject = "Our spring newsletter: gardens, workshops and the Saturday market"
    common = dict(from_name="Neighbourhood News", from_email="news@example.org", reply_to="hello@example.org")
    common["feedback_id"] = "12:34:newsletter:wagtail-newsletter"
    plain = MessageSkeleton(**common)
    signed = MessageSkeleton(**common, signer=signer)
    unsubscribe = "https://example.org/newsletter/unsubscribe/abc123.xyzxyzxyzxyzxyzxyzxyzxyz/"

    def render(skeleton):
        return lambda i: skeleton.render(
            f"subscriber{i}@example.com",
            subject,
            *variants[i % len(variants)],
            ids(i),
            list_unsubscribe_url=unsubscribe,
            list_unsubscribe_mailto=unsubscribe_mailto(i, "example.org", mailto_signer),
        )

    message = render(plain)(0)
    head, _blank, body = message.partition(b"\r\n\r\n")
    header_lines = [line + b"\r\n" for line in head.replace(b"\r\n ", b"\0").split(b"\r\n")]
    header_lines = [line.replace(b"\0", b"\r\n ") for line in header_lines]

    def django_message(i):
        html, text = variants[i % len(variants)]
        mail = EmailMultiAlternatives(
            subject,
            text,
            "Neighbourhood News <news@example.org>",
            [f"subscriber{i}@example.com"],
            reply_to=["hello@example.org"],
            headers={"Message-ID": ids(i), "List-Unsubscribe": f"<{unsubscribe}>"},
        )
        mail.attach_alternative(html, "text/html")
        return mail.message().as_bytes()

    count = options.messages
    results = [
        ("render, no DKIM", timed(render(plain), count)),
        ("DKIM sign only (OpenSSL)", timed(lambda i: signer.sign(header_lines, body), count)),
        ("render + DKIM", timed(render(signed), count)),
        ("Django EmailMultiAlternatives", timed(django_message, max(count // 5, 1))),
        (
            "dkimpy sign (pure-Python RSA)",
            timed(
                lambda i: dkim.sign(message, b"newsletter", b"example.org", key.encode(), include_headers=[b"from"]),
                max(count // 100, 3),
            ),
        ),
    ]
    html_bytes = len(variants[0][0].encode())
    print(f"{len(message):,} bytes per message ({html_bytes:,} bytes of HTML, {len(variants)} variants), one core")
    for label, micros in results:
        print(f"{label:32} {micros:9.1f} µs/message  {1e6 / micros:9,.0f} messages/s")


if __name__ == "__main__":
    main()
