"""Benchmark: import N subscribers from a CSV file into a fresh PostgreSQL database.

    python benchmarks/import_subscribers.py --rows 1000000 \
        [--database-url postgres://postgres@127.0.0.1:5432/test] [--bench-db wn_bench] [--chunk-size 5000] [--writers 2]

Generates a CSV (custom fields, ~0.1 % invalid rows) in a temporary directory, (re)creates the
database ``wn_bench`` on the server of ``--database-url``, migrates it, then runs the
``newsletter_import`` command in a child process and reports its wall time, rows/s and peak RSS
(of that child only). The reference is PostgreSQL ``COPY`` of the same CSV into a plain table,
measured in the same run. Loopback only; everything it creates lives in ``wn_bench`` and the temp dir.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SITE = os.path.join(ROOT, "example_site")
FIRST = ["Anne", "Bruno", "Chloé", "David", "Émilie", "François", "Gaëlle", "Hugo", "Inès", "Jules"]
LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau"]
CITIES = ["Paris", "Lyon", "Genève", "Lausanne", "Bruxelles", "Montréal", "Nantes", "Lille"]


def generate_csv(path, rows, seed=1):
    """Write ``rows`` data rows; every 997th row has an invalid address. Return the number of invalid rows."""
    rng = random.Random(seed)
    invalid = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["Email", "First name", "Last name", "Language", "City", "Age", "Member since"])
        for i in range(rows):
            if i % 997 == 996:
                email = f"not-an-address-{i}"
                invalid += 1
            else:
                email = f"user{i}@example{i % 50}.org"
            writer.writerow(
                [
                    email,
                    rng.choice(FIRST),
                    rng.choice(LAST),
                    rng.choice(("fr", "en", "de", "")),
                    rng.choice(CITIES),
                    rng.randint(18, 90),
                    f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                ]
            )
    return invalid


def with_database(url, name):
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def recreate_database(server_url, name):
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def copy_reference(db_url, csv_path):
    """Seconds for PostgreSQL COPY of the same CSV into a plain table with a unique email."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute("DROP TABLE IF EXISTS copy_reference")
        conn.execute(
            "CREATE TABLE copy_reference (id bigserial primary key, email varchar(254) unique, first_name text, "
            "last_name text, language text, city text, age text, member_since text)"
        )
        conn.commit()
        started = time.perf_counter()
        with conn.cursor() as cur:
            columns = "email, first_name, last_name, language, city, age, member_since"
            with cur.copy(f"COPY copy_reference ({columns}) FROM STDIN WITH (FORMAT csv, HEADER true)") as copy:
                with open(csv_path, "rb") as source:
                    while block := source.read(1 << 20):
                        copy.write(block)
        conn.commit()
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE copy_reference")
        conn.commit()
    return elapsed


def django_env(db_url):
    env = dict(os.environ)
    env["DATABASE_URL"] = db_url
    env["DJANGO_SETTINGS_MODULE"] = "example.settings"
    env["PYTHONPATH"] = os.pathsep.join([SITE, ROOT, env.get("PYTHONPATH", "")])
    return env


def child_import(csv_path, chunk_size, writers):
    """Runs in the child process: the same code path as ``manage.py newsletter_import``."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    from wagtail_newsletter.audience import importing
    from wagtail_newsletter.audience.models import Field
    from wagtail_newsletter.management.commands import newsletter_import

    if writers:
        importing.WRITER_CONNECTIONS = writers
    results = []

    def import_subscribers(*args, **kwargs):  # the command's own call, its result kept for the report
        results.append(importing.import_subscribers(*args, **kwargs))
        return results[-1]

    newsletter_import.import_subscribers = import_subscribers

    if chunk_size:
        settings.WAGTAIL_NEWSLETTER = {**getattr(settings, "WAGTAIL_NEWSLETTER", {}), "IMPORT_CHUNK_SIZE": chunk_size}
    Field.objects.get_or_create(key="city", defaults={"label": "City", "type": Field.Type.TEXT})
    Field.objects.get_or_create(key="age", defaults={"label": "Age", "type": Field.Type.NUMBER})
    Field.objects.get_or_create(key="member_since", defaults={"label": "Member since", "type": Field.Type.DATE})
    with open(os.devnull, "w") as devnull:
        started = time.perf_counter()
        call_command("newsletter_import", csv_path, group=["Benchmark"], no_progress=True, stdout=devnull)
        elapsed = time.perf_counter() - started
    from wagtail_newsletter.audience.models import Membership, StatusEvent, Subscriber

    counts = {
        "subscribers": Subscriber.all_objects.count(),
        "memberships": Membership.objects.count(),
        "status_events": StatusEvent.objects.count(),
    }
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": elapsed, "peak_rss_mb": peak_kb / 1024, "writers": results[0].writers, **counts}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/test")
    parser.add_argument("--bench-db", default="wn_bench")
    parser.add_argument("--chunk-size", type=int, default=0, help="IMPORT_CHUNK_SIZE (default: the setting)")
    parser.add_argument("--writers", type=int, default=0, help="writer connections (default: WRITER_CONNECTIONS)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_import(args.child, args.chunk_size, args.writers)

    db_url = with_database(args.database_url, args.bench_db)
    with tempfile.TemporaryDirectory(prefix="wn_import_bench_") as tmp:
        csv_path = os.path.join(tmp, "subscribers.csv")
        started = time.perf_counter()
        invalid = generate_csv(csv_path, args.rows)
        size_mb = os.path.getsize(csv_path) / 1e6
        took = time.perf_counter() - started
        print(f"generated {args.rows:,} rows ({invalid:,} invalid), {size_mb:.1f} MB in {took:.1f}s")

        recreate_database(args.database_url, args.bench_db)
        env = django_env(db_url)
        subprocess.run([sys.executable, os.path.join(SITE, "manage.py"), "migrate", "-v0"], env=env, check=True)

        command = [sys.executable, os.path.abspath(__file__), "--child", csv_path]
        command += ["--chunk-size", str(args.chunk_size), "--writers", str(args.writers)]
        wall_started = time.perf_counter()
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
        output = child.stdout.read()
        # wait4 gives the resource usage of this one child, not of every process started before.
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - wall_started
        if os.waitstatus_to_exitcode(status) != 0:
            sys.exit("import failed")
        report = json.loads(output.strip().splitlines()[-1])

        copy_seconds = copy_reference(db_url, csv_path)

    rate = args.rows / report["seconds"]
    copy_rate = args.rows / copy_seconds
    print(f"database: {urlsplit(db_url)._replace(netloc=urlsplit(db_url).hostname or '').geturl()}")
    print(
        f"rows in table: {report['subscribers']:,} subscribers, {report['memberships']:,} memberships, "
        f"{report['status_events']:,} status events (expected {args.rows - invalid:,})"
    )
    print(f"import: {report['seconds']:.1f}s  {rate:,.0f} rows/s  (process wall time incl. startup {wall:.1f}s)")
    print(f"writer connections: {report['writers']}")
    print(f"peak RSS of the importing process: {usage.ru_maxrss / 1024:.0f} MB")
    print(f"reference: PostgreSQL COPY of the same CSV: {copy_seconds:.1f}s  {copy_rate:,.0f} rows/s")
    print(f"ratio import/COPY: {rate / copy_rate:.2f}")
    if report["subscribers"] != args.rows - invalid:
        sys.exit("row count mismatch")


if __name__ == "__main__":
    main()
