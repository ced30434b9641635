"""Benchmark: N returned messages in a real Dovecot IMAP mailbox, taken in end to end (fetch, classify, write the
InboundMessage rows and the effects, move each message to the done folder), against classifying the same messages in
memory in the same run.

    python benchmarks/bounce_intake.py [--count 10000] [--batch 500]
    TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python benchmarks/bounce_intake.py

Uses a throwaway test database (SQLite file, or PostgreSQL from TEST_DATABASE_URL) and a throwaway Dovecot; the
messages are DSNs built the way Postfix builds them (7 in 10 hard, 1 soft, 1 delay warning) and ARF complaints
(1 in 10), each about its own delivery, written straight into the Maildir. Prints messages/s end to end, the
in-memory classification rate and their ratio; exits 3 when end to end is under 500 messages/s.
"""

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "example_site")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
os.environ.setdefault("WN_TEST_DB_SUFFIX", f"bench{os.getpid()}")

TARGET = 500


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    options = parser.parse_args()

    import django

    django.setup()
    from django.db import connection

    connection.creation.create_test_db(verbosity=0)
    from tests.dovecot_server import DovecotServer

    server = DovecotServer().start()
    try:
        return run(server, options, connection)
    finally:
        server.stop()
        shutil.rmtree(server.root, ignore_errors=True)
        connection.creation.destroy_test_db(connection.settings_dict["NAME"], verbosity=0)


def run(server, options, connection):
    from tests.inbound_fixtures import complaint, delay_warning, hard_bounce, sent_deliveries, soft_bounce
    from wagtail_newsletter.deliverability import mailbox
    from wagtail_newsletter.deliverability.classify import classify
    from wagtail_newsletter.deliverability.models import InboundMessage
    from wagtail_newsletter.send.models import Event

    builders = [hard_bounce] * 7 + [soft_bounce, delay_warning, complaint]
    deliveries = sent_deliveries(options.count)
    messages = [builders[n % 10](delivery) for n, delivery in enumerate(deliveries)]
    server.write_maildir(messages)
    size = sum(map(len, messages)) / len(messages)
    print(f"{options.count:,} messages ({size / 1024:.1f} KB on average) in Dovecot; database {connection.vendor}")

    started = time.perf_counter()
    for raw in messages:
        classify(raw)
    in_memory = options.count / (time.perf_counter() - started)

    started = time.perf_counter()
    result = mailbox.poll(server.mailbox_settings("imap", BATCH=options.batch))
    elapsed = time.perf_counter() - started
    end_to_end = options.count / elapsed

    print(f"poll: {result} in {elapsed:.2f} s")
    print(f"end to end (IMAP fetch, classify, write, move): {end_to_end:,.0f} messages/s")
    print(f"classify in memory, same messages:              {in_memory:,.0f} messages/s")
    print(f"ratio end to end / in memory: {end_to_end / in_memory:.2f}")
    rows, events, left = InboundMessage.objects.count(), Event.objects.count(), server.count("INBOX")
    print(f"recorded {rows:,} messages, {events:,} events; {left} left in INBOX")
    if rows != options.count or left or result.taken != options.count:
        print("ERROR: messages lost or left behind")
        return 1
    return 0 if end_to_end >= TARGET else 3


if __name__ == "__main__":
    sys.exit(main())
