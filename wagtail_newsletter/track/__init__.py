"""Tracking: the public endpoints a sent message links to (open pixel, click redirect, unsubscribe, web version),
the Events they append, and the statistics aggregated from them.

Every link carries a signed token (``tokens.LinkSigner``) naming a Delivery (and, for opens and clicks, its
campaign); nothing here trusts anything else from the request. ``links``, ``unsubscribe`` and ``events`` hold the
logic as plain functions; ``views`` only speaks HTTP.
"""
