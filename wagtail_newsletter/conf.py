"""All settings of wagtail_newsletter, with their defaults, in one place.

A project overrides any of them in one dict::

    WAGTAIL_NEWSLETTER = {"CONFIRMATION_MAX_AGE": 3 * 24 * 3600}

or with a prefixed name (``WAGTAIL_NEWSLETTER_CONFIRMATION_MAX_AGE``). Read them with
``newsletter_settings.CONFIRMATION_MAX_AGE``; they are looked up at each access so that
``override_settings`` works in tests.
"""

from django.conf import settings

DEFAULTS = {
    # Automations: enrolments the tick moves in one transaction (growth/automations/tick.py): the ids travel as
    # query parameters (SQLite allows 32,766).
    "AUTOMATION_BATCH_SIZE": 5000,
    # Absolute base URL used in links inside emails ("https://www.example.org"). Falls back to the
    # request's host or to the default Wagtail site when empty.
    "BASE_URL": "",
    # True: plain-http links to this machine (localhost, 127.0.0.1, ::1) are no warning in the pre-flight checklist —
    # for a local demo or development site, whose own pages are served that way. Real sites keep the warning.
    "ALLOW_LOOPBACK_LINKS": False,
    # Sender of system mails (confirmation, manager notifications) when a form does not set one.
    "DEFAULT_FROM_EMAIL": None,  # None -> settings.DEFAULT_FROM_EMAIL
    # Double opt-in links stop working after this many seconds.
    "CONFIRMATION_MAX_AGE": 7 * 24 * 3600,
    # Addresses that never confirmed their subscription are removed this many days after signing up.
    "PENDING_RETENTION_DAYS": 30,
    # Forgotten subscribers are erased (anonymised) this many days after the request.
    "FORGET_GRACE_DAYS": 30,
    # Abuse resistance on public subscription forms.
    "MIN_FILL_SECONDS": 2,  # a human needs at least this long to fill a form
    "MAX_FORM_AGE_SECONDS": 24 * 3600,  # a form rendered earlier than this is stale
    "RATE_LIMIT_PER_IP": (10, 3600),  # (submissions, per seconds) for one IP network
    "RATE_LIMIT_PER_EMAIL": (3, 3600),  # (submissions, per seconds) for one address
    "RATE_LIMIT_CACHE": "default",  # a cache shared by all web processes in production
    "HONEYPOT_FIELD": "website",
    # Origins whose pages may show the forms embedded in an iframe ("https://partner.example"), sent as the
    # embed pages' CSP frame-ancestors; ["*"]: any site; []: embedding is off (the embed URLs answer 404).
    "EMBED_ALLOWED_ORIGINS": ["*"],
    # Maximum lengths of free-text input.
    "MAX_NAME_LENGTH": 100,
    "MAX_FIELD_LENGTH": 255,
    # Import limits.
    "IMPORT_MAX_UPLOAD_BYTES": 200 * 1024 * 1024,
    "IMPORT_CHUNK_SIZE": 5000,
    # Template the public pages (form errors, confirmation) extend.
    "BASE_TEMPLATE": "wagtail_newsletter/public/base.html",
    # The django-q2 cluster name tasks are sent to (None: the default cluster).
    "Q_CLUSTER_NAME": None,
    # Sending. A worker claims SEND_BATCH_SIZE deliveries under a lease of SEND_LEASE_SECONDS, renewed every third
    # of it while the worker lives (another worker takes them over once it expires: a dead worker's share within
    # about that; a batch gives back what it hasn't sent after half the lease), works for up to SEND_TASK_SECONDS,
    # then hands over to a new task. A task can so last SEND_TASK_SECONDS + SEND_LEASE_SECONDS / 2 + one SMTP
    # timeout (EMAIL_TIMEOUT, 20 s when unset): keep django-q2's "timeout" above that (120 s with these defaults)
    # and its "retry" above "timeout".
    "SEND_BATCH_SIZE": 200,
    "SEND_LEASE_SECONDS": 10,
    "SEND_TASK_SECONDS": 20,
    # Tasks working on one campaign at a time (at most one per django-q2 worker is useful).
    "SEND_CONCURRENCY": 2,
    # Temporary failures (4xx, timeouts, connection loss) are retried after 1, 2, 4… times this, this many times.
    "SEND_RETRY_SECONDS": 60,
    "SEND_MAX_ATTEMPTS": 6,
    # Messages per clock hour across all workers and campaigns (None: no limit). Test sends don't count.
    "HOURLY_QUOTA": None,
    # Credits (1 credit = 1 newsletter to 1 subscriber): off by default. The free monthly allowance tops the
    # balance up to this level at the start of each month; purchased credits never expire.
    "CREDITS_ENABLED": False,
    "CREDITS_MONTHLY_ALLOWANCE": 0,
    # Sending a newsletter needs its current revision approved by a Wagtail workflow.
    "REQUIRE_APPROVAL": False,
    # Envelope sender (Return-Path) for bounces: "<local>+<token>@<domain>" (VERP). Empty domain: the sender's.
    "RETURN_PATH_DOMAIN": "",
    "RETURN_PATH_LOCAL_PART": "bounces",
    # The mailto: of List-Unsubscribe ("unsubscribe+<token>@<domain>"). Empty domain: the Return-Path domain.
    "UNSUBSCRIBE_MAILTO_DOMAIN": "",
    # Identifies the sender in Feedback-ID (Gmail's feedback loop) and List-Id.
    "SENDER_ID": "wagtail-newsletter",
    # Tracking. Events are folded into the statistics once they are this old (so that a scanner's burst of clicks
    # is seen whole), by a django-q2 schedule every minute and, within a time budget, when a report is opened.
    "TRACKING_SETTLE_SECONDS": 5,
    "AGGREGATE_CHUNK_SIZE": 10000,
    "AGGREGATE_BUDGET_SECONDS": 0.3,  # on-demand aggregation when a report page or its live refresh asks
    # Machine activity (see docs/developers/tracking.md): opens and clicks this soon after the message was handed
    # to the relay are a gateway's pre-fetch or scan, not a reader…
    "MACHINE_OPEN_SECONDS": 2,
    "MACHINE_CLICK_SECONDS": 2,
    # …and so are clicks on this many different links (or on every link, when there are fewer) within this time.
    "SCANNER_BURST_LINKS": 3,
    "SCANNER_BURST_SECONDS": 2,
    # Raw tracking events older than this many days are deleted once folded into the statistics (None: kept as long
    # as their campaign). Figures and each recipient's activity stay; subscriber histories lose the single hits.
    "EVENT_RETENTION_DAYS": None,
    # People's opens and clicks keep the country of the reader's address (its two-letter code only, never the address;
    # looked up offline, see docs/privacy.md). False: no country is looked up or kept.
    "TRACK_COUNTRY": True,
    # Conversions (growth/conversions.py): a click on a newsletter link leaves a signed first-party cookie for this many
    # days, and a goal page reached meanwhile counts once per recipient and goal. Only with the visitor's consent:
    # CONVERSION_CONSENT is a callable (or its dotted path) taking the request and answering True when the visitor
    # agreed, or CONVERSION_CONSENT_COOKIE names the cookie the site's consent banner sets ("", "0", "false", "no",
    # "deny" mean no). Neither set: no cookie, no conversions.
    "CONVERSION_DAYS": 7,
    "CONVERSION_CONSENT": None,
    "CONVERSION_CONSENT_COOKIE": "",
    "CONVERSION_COOKIE_NAME": "wn_click",
    # Sender domains, checked in DNS (deliverability/): the resolvers asked ("192.0.2.53", "127.0.0.1:5353",
    # "[::1]:5353"; []: the system's, /etc/resolv.conf) and how many seconds one question may take.
    "DNS_RESOLVERS": [],
    "DNS_TIMEOUT": 5,
    # What the SPF record of a sender domain (and of the Return-Path domain) must contain for your sending host,
    # e.g. ["include:_spf.relay.example"] or ["ip4:192.0.2.10"]. []: any valid record that ends in ~all/-all.
    "SPF_INCLUDE": [],
    # A domain that was verified and whose records then fail may still send for this many days (then it may not).
    "SENDER_DOMAIN_GRACE_DAYS": 30,
    # Domains (and their subdomains) that may send without any DNS check: ONLY for development and demo sites with
    # no public DNS. In production every sender domain is verified in DNS before it sends.
    "ASSUME_VERIFIED_DOMAINS": [],
    # The mailbox that receives bounces and complaints (the Return-Path and feedback-loop address), polled on a
    # schedule: None (no polling: a pipe transport or ESP webhooks bring the mail instead), or a dict:
    # {"PROTOCOL": "imap" | "pop3", "HOST": "...", "PORT": None (standard port), "SSL": True, "STARTTLS": False,
    #  "USERNAME": "...", "PASSWORD": "...", "FOLDER": "INBOX", "DONE_FOLDER": "Processed" (IMAP), "BATCH": 500}
    "BOUNCE_MAILBOX": None,
    "BOUNCE_POLL_SECONDS": 300,
    # A subscriber whose mailbox soft-bounces this many times within the last SOFT_BOUNCE_CAMPAIGNS campaigns sent to
    # it becomes "bounced" (Mailchimp's rule: 7 soft bounces).
    "SOFT_BOUNCE_LIMIT": 7,
    "SOFT_BOUNCE_CAMPAIGNS": 15,
    # Sending guards (Amazon SES and the Gmail/Yahoo 2024 sender rules): a campaign is refused before sending when
    # the audience's hard-bounce or complaint rate over the last GUARD_WINDOW_DAYS days exceeds these, and pauses by
    # itself while sending when its own rates cross them (counted once at least GUARD_MIN_SENT messages went out).
    "GUARD_HARD_BOUNCE_RATE": 0.05,
    "GUARD_COMPLAINT_RATE": 0.001,
    "GUARD_WINDOW_DAYS": 30,
    "GUARD_MIN_SENT": 100,
    # A SpamAssassin spamd that scores each campaign in the pre-flight checklist: None (no score), or
    # {"HOST": "127.0.0.1", "PORT": 783, "TIMEOUT": 10}. SPAM_SCORE_LIMIT: the score from which the check fails
    # (SpamAssassin's own required_score is 5.0).
    "SPAMD": None,
    "SPAM_SCORE_LIMIT": 5.0,
    # Preference centre: the link in each mail's footer opens the subscriber's preference page for this many days
    # (newer mails carry newer links); the pauses offered, in months.
    "PREFERENCES_LINK_DAYS": 365,
    "PAUSE_MONTHS": [1, 3, 6],
    # Outbound webhooks (api/webhooks/, docs/developers/webhooks.md). A failed message is tried again after
    # WEBHOOK_RETRY_BASE_SECONDS × 2^(failures in a row − 1), at most WEBHOOK_RETRY_MAX_SECONDS apart, for
    # WEBHOOK_RETRY_HOURS; an endpoint with no success for WEBHOOK_DISABLE_AFTER_HOURS is disabled and its owner mailed.
    # A delivery task claims WEBHOOK_BATCH_SIZE messages of one endpoint under a lease of WEBHOOK_LEASE_SECONDS, posts
    # them over WEBHOOK_CONNECTIONS keep-alive connections (WEBHOOK_TIMEOUT seconds each request), works for up to
    # WEBHOOK_TASK_SECONDS; at most WEBHOOK_CONCURRENCY tasks per endpoint. Fan-out reads up to WEBHOOK_FANOUT_CHUNK
    # log rows per tick and reads id ranges found empty again for WEBHOOK_GAP_SECONDS (transactions still running).
    # A rotated secret keeps signing beside the new one for WEBHOOK_SECRET_GRACE_HOURS.
    "WEBHOOK_RETRY_BASE_SECONDS": 5,
    "WEBHOOK_RETRY_MAX_SECONDS": 6 * 3600,
    "WEBHOOK_RETRY_HOURS": 72,
    "WEBHOOK_DISABLE_AFTER_HOURS": 72,
    "WEBHOOK_BATCH_SIZE": 200,
    "WEBHOOK_LEASE_SECONDS": 60,
    "WEBHOOK_CONNECTIONS": 4,
    "WEBHOOK_TIMEOUT": 10,
    "WEBHOOK_TASK_SECONDS": 50,
    "WEBHOOK_CONCURRENCY": 2,
    "WEBHOOK_FANOUT_CHUNK": 100_000,
    "WEBHOOK_GAP_SECONDS": 120,
    "WEBHOOK_SECRET_GRACE_HOURS": 24,
    # REST API (api/rest/, docs/developers/rest-api.md): requests per API key within a window of seconds (counted in
    # RATE_LIMIT_CACHE); how long a write's answer is replayed for the same Idempotency-Key; the origins whose pages may
    # call the public subscription endpoint from a browser (CORS; ["*"]: any; []: none).
    "API_RATE_LIMIT": (600, 60),
    "API_IDEMPOTENCY_SECONDS": 24 * 3600,
    "API_CORS_ALLOWED_ORIGINS": [],
}


class NewsletterSettings:
    def __getattr__(self, name):
        if name not in DEFAULTS:
            raise AttributeError(f"Unknown wagtail_newsletter setting {name!r}")
        prefixed = f"WAGTAIL_NEWSLETTER_{name}"
        if hasattr(settings, prefixed):
            return getattr(settings, prefixed)
        value = getattr(settings, "WAGTAIL_NEWSLETTER", {}).get(name, DEFAULTS[name])
        if name == "DEFAULT_FROM_EMAIL" and value is None:
            return settings.DEFAULT_FROM_EMAIL
        return value


newsletter_settings = NewsletterSettings()
