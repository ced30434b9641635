"""Benchmark: the size of send_throughput.py's newsletter as a subscriber receives it, in each theme.

    python benchmarks/message_size.py [--sections 20] [--themes classic,bold,minimal] [--database-url …/postgres]

(Re)creates the PostgreSQL database ``wn_bench_size``, makes send_throughput.py's newsletter with ``--sections``
sections (20: ~30 KB of content as editors wrote it, 40 tracked links, personal variables) and a DKIM key, starts a
one-recipient campaign per theme and builds its message exactly as a worker does. Prints the content's size, the
whole message (DKIM-signed, tracked), its HTML part decoded, the share of inline ``style`` attributes in that HTML,
and the targets of issue 10 for 20 sections (message ≤ 80 KB, HTML ≤ 48 KB). The database is dropped at the end.
"""

import argparse
import email
import email.policy
import os
import re
import subprocess
import sys

from send_throughput import SITE, admin_sql, copy_subscribers, env_for, make_page, sample_message, with_database

_STYLE_ATTRIBUTE = re.compile(r'\sstyle="[^"]*"')


def figures(message):
    """{"message", "html", "html_encoded", "style", "encoding"}: sizes in bytes of ``message`` (raw bytes), of its
    HTML part decoded and as sent, and of that part's style attributes; the HTML part's transfer encoding."""
    parsed = email.message_from_bytes(message, policy=email.policy.default)
    html_part = parsed.get_body(("html",))
    html = html_part.get_payload(decode=True)
    styles = sum(len(match.group().encode()) for match in _STYLE_ATTRIBUTE.finditer(html.decode()))
    return {
        "message": len(message),
        "html": len(html),
        "html_encoded": len(html_part.get_payload().encode()),
        "style": styles,
        "encoding": html_part["Content-Transfer-Encoding"],
    }


def content_size(page):
    """Bytes of the body's text as editors wrote it (rich text and headings, tags included)."""
    values = [block["value"] for block in page.body.raw_data if block["type"] in ("rich_text", "heading")]
    return sum(len(value["text"].encode()) for value in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", type=int, default=20)
    parser.add_argument("--themes", default="classic,bold,minimal")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--bench-db", default="wn_bench_size")
    args = parser.parse_args()

    db_url = with_database(args.database_url, args.bench_db)
    admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')
    admin_sql(args.database_url, f'CREATE DATABASE "{args.bench_db}"')
    os.environ.update(env_for(db_url, 0))
    try:
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], check=True)
        import django

        django.setup()
        from wagtail_newsletter.send import campaigns
        from wagtail_newsletter.send.dkim_signing import generate_private_key
        from wagtail_newsletter.send.models import SenderDomain

        copy_subscribers(1)
        SenderDomain.objects.create(domain="example.org", selector="bench", private_key=generate_private_key())
        page = make_page(args.sections)
        content = content_size(page)
        print(f"{args.sections} sections, content {content:,} bytes")
        for theme in args.themes.split(","):
            page.theme = theme
            page.save_revision().publish()
            campaign = campaigns.create_campaign(page, name=f"size {theme}")
            campaigns.set_audience(campaign, True)
            campaign = campaigns.send_now(campaign)  # plans the delivery; no cluster runs to send it
            message = sample_message(campaign)
            size = figures(message)
            print(
                f"{theme:8} message {size['message']:,} bytes (DKIM-signed: {message.startswith(b'DKIM-Signature:')}); "
                f"HTML part decoded {size['html']:,} bytes ({size['html_encoded']:,} in {size['encoding']}), "
                f"{size['html'] / content:.2f}× the content, {100 * size['style'] / size['html']:.0f} % in style "
                "attributes; targets ≤ 80 KB and ≤ 48 KB: "
                + ("met" if size["message"] <= 80 * 1024 and size["html"] <= 48 * 1024 else "NOT met"),
                flush=True,
            )
    finally:
        from django.db import connections

        connections.close_all()
        admin_sql(args.database_url, f'DROP DATABASE IF EXISTS "{args.bench_db}" WITH (FORCE)')


if __name__ == "__main__":
    main()
