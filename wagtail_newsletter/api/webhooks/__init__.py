"""Outbound webhooks: signed messages (Standard Webhooks) about subscribers, messages and campaigns, posted to the
endpoints registered in the admin. See docs/developers/webhooks.md.

- ``models``: ``WebhookEndpoint``, the outbox ``WebhookMessage`` (one row per endpoint and event), ``EventType``.
- ``fanout``: fills the outbox from the logs (``Event``, ``StatusEvent``) and from campaigns' status changes.
- ``delivery``: the django-q2 tasks that post the outbox in order per subscriber, with backoff, under leases.
- ``endpoints``: register, rotate a secret, enable again, replay.
- ``signing``: secrets and signatures.
"""
