"""The REST API (django-ninja): subscribers, groups, custom fields, sign-ups, campaigns and events.

Mounted by the site (``urls``), authenticated by ``ApiKey`` (``models``, made in the admin), rate limited per key,
every error an RFC 9457 problem, writes idempotent with ``Idempotency-Key``. docs/developers/rest-api.md.
"""
