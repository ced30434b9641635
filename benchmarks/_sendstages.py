"""Per-stage cost of one message of the send loop, measured in the benchmark's own process (for send_throughput.py).

Each stage runs over the same ``count`` deliveries in a loop of its own, timed with the process's CPU clock (and the
wall clock where it waits on another process), so one figure does not include the timer calls of the others. The
stages are the ones ``CampaignSender.send_batch`` runs per message, in its order.
"""

import os
import time


def _server_cpu(cursor):
    """CPU seconds used so far by the PostgreSQL backend of ``cursor``'s connection (same host)."""
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stage_costs(campaign, count=2000):
    """[(stage, CPU µs per message, wall µs per message or None)] for ``count`` deliveries of ``campaign``
    (already sent; marking them sent again changes nothing the benchmark reads afterwards)."""
    from django.db import connection

    from wagtail_newsletter.compose.personalise import personalise
    from wagtail_newsletter.send import claims
    from wagtail_newsletter.send.mime import unsubscribe_mailto
    from wagtail_newsletter.send.models import Delivery
    from wagtail_newsletter.send.outgoing import message_id_for
    from wagtail_newsletter.send.worker import CampaignSender, _recipient, fast_commits

    fields = claims._RECIPIENT_FIELDS
    rows = list(Delivery.objects.filter(campaign=campaign).order_by("pk").values_list(*fields)[:count])
    sender = CampaignSender(campaign)
    signer = sender.skeleton.signer
    results = []

    def timed(label, function, items, wall=False):
        cpu, clock = time.process_time(), time.perf_counter()
        out = [function(item) for item in items]
        cpu, clock = time.process_time() - cpu, time.perf_counter() - clock
        results.append((label, 1e6 * cpu / len(items), 1e6 * clock / len(items) if wall else None))
        return out

    try:
        recipients = timed("claimed row → recipient mapping", _recipient, rows)
        ids = [row[0] for row in rows]
        links = timed("link tokens (unsubscribe, web, open, 20 clicks)", sender.links.for_delivery, ids)

        def click_urls(delivery_links):
            return delivery_links.click_urls(sender.compiled.links)

        timed("  of which click tokens", click_urls, links)
        personalised = timed(
            "personalise (fill the compiled slots)",
            lambda pair: personalise(sender.compiled, pair[0], pair[1], pieces=True),
            list(zip(recipients, links, strict=True)),
        )
        timed(
            "Message-ID, List-Unsubscribe mailto, VERP",
            lambda pair: (
                message_id_for(pair[0], sender.from_domain),
                unsubscribe_mailto(pair[0], sender.mailto_domain, token=pair[1].unsubscribe_token),
                sender.envelope_of(pair[0]),
            ),
            list(zip(ids, links, strict=True)),
        )
        headers = [
            {
                "to_email": recipient["email"],
                "subject": message.subject,
                "html": message.html,
                "text": message.text,
                "message_id": message_id_for(delivery_id, sender.from_domain),
                "list_unsubscribe_url": delivery_links.unsubscribe_url,
                "list_unsubscribe_mailto": unsubscribe_mailto(
                    delivery_id, sender.mailto_domain, token=delivery_links.unsubscribe_token
                ),
            }
            for delivery_id, recipient, message, delivery_links in zip(
                ids, recipients, personalised, links, strict=True
            )
        ]
        sender.skeleton.signer = None
        timed("MIME bytes (skeleton + quoted-printable), unsigned", lambda h: sender.skeleton.render(**h), headers)
        sender.skeleton.signer = signer
        if signer is not None:
            raws = timed("MIME bytes + DKIM signature", lambda h: sender.skeleton.render(**h), headers)
            results[-1] = (
                "DKIM signature (RSA 2048 + canonicalisation)",
                results[-1][1] - results[-2][1],
                None,
            )
        else:
            raws = [sender.skeleton.render(**h) for h in headers]
        envelopes = [sender.envelope_of(delivery_id) for delivery_id in ids]
        sender.transport.send(envelopes[0], rows[0][3], raws[0])  # connect outside the timing

        def smtp(index):
            return sender.transport.send(envelopes[index], rows[index][3], raws[index])

        timed("SMTP, one message at a time (MAIL/RCPT/DATA, body, 250)", smtp, range(len(rows)), wall=True)
        with fast_commits(), claims.SentMarks() as marks, connection.cursor() as cursor:
            before = _server_cpu(cursor)
            timed("mark sent: client (UPDATE by primary key)", lambda i: marks.mark_sent(i, 250), ids, wall=True)
            server = _server_cpu(cursor) - before
        results.append(("mark sent: PostgreSQL backend", 1e6 * server / len(ids), None))
    finally:
        sender.close()
    return results
