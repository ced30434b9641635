"""Tracking: the public endpoints a sent message links to (unsubscribe, click redirect, web version).

Every link carries a signed token (``tokens.LinkSigner``) naming a Delivery; nothing here trusts anything else
from the request. ``unsubscribe`` and ``links`` hold the logic as plain functions; ``views`` only speaks HTTP.
"""
