"""Hooks that tracking offers the floors above it (it never imports them).

``link_followed``: sent by the click view once a click is recorded, before the redirect goes out, with ``request``,
``response`` (the redirect, which a receiver may add a cookie to), ``token`` (the click's signed token) and ``url``
(where it leads). Growth's conversions connect to it (growth/conversions.py); with no receiver it costs nothing.
"""

from django.dispatch import Signal

link_followed = Signal()
