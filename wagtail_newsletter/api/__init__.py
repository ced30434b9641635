"""The Python API of wagtail_newsletter: the one module site code should import.

    from wagtail_newsletter import api

    api.subscribe("ada@example.com", groups=["Weekly news"], fields={"first_name": "Ada"})
    campaign = api.create_campaign(page)
    api.set_audience(campaign, groups=["Weekly news"])
    api.send(campaign)
    api.wait(campaign, timeout=600)

Everything named in ``__all__`` is public and documented in docs/developers/python-api.md; the rest of the package
(and every other module of wagtail_newsletter) may change between versions. Every function checks its input before
writing: an exception of ``api.errors`` (``InvalidEmail``, ``InvalidInput``, ``NotFound``, ``InvalidState``,
``WaitTimeout``, all ``NewsletterError``) means nothing changed.

The functions are loaded on first use (PEP 562), so that importing this package — e.g. the REST API's models while
Django loads the app — never drags the whole app in before its models are ready.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import InvalidEmail, InvalidInput, InvalidState, NewsletterError, NotFound, WaitTimeout
from .results import CampaignProgress, CampaignStatistics, DkimKey, DkimKeys, Skipped, Subscription, UpsertResult

_FUNCTIONS = {
    "subscribe": "subscribers",
    "upsert_subscribers": "subscribers",
    "unsubscribe": "subscribers",
    "forget": "subscribers",
    "create_campaign": "campaigns",
    "set_audience": "campaigns",
    "schedule": "campaigns",
    "send": "campaigns",
    "pause": "campaigns",
    "resume": "campaigns",
    "cancel": "campaigns",
    "wait": "campaigns",
    "progress": "campaigns",
    "statistics": "campaigns",
    "render_message": "rendering",
    "generate_dkim_key": "dkim",
    "rotate_dkim_key": "dkim",
    "complete_dkim_rotation": "dkim",
    "cancel_dkim_rotation": "dkim",
    "dkim_key": "dkim",
    "dkim_keys": "dkim",
}

__all__ = [  # noqa: RUF022 (in the order of the documentation)
    "subscribe",
    "upsert_subscribers",
    "unsubscribe",
    "forget",
    "create_campaign",
    "set_audience",
    "schedule",
    "send",
    "pause",
    "resume",
    "cancel",
    "wait",
    "progress",
    "statistics",
    "render_message",
    "generate_dkim_key",
    "rotate_dkim_key",
    "complete_dkim_rotation",
    "cancel_dkim_rotation",
    "dkim_key",
    "dkim_keys",
    "NewsletterError",
    "InvalidInput",
    "InvalidEmail",
    "NotFound",
    "InvalidState",
    "WaitTimeout",
    "Subscription",
    "UpsertResult",
    "Skipped",
    "CampaignProgress",
    "CampaignStatistics",
    "DkimKey",
    "DkimKeys",
]

if TYPE_CHECKING:  # what type checkers and IDEs see: the functions themselves
    from .campaigns import (
        cancel,
        create_campaign,
        pause,
        progress,
        resume,
        schedule,
        send,
        set_audience,
        statistics,
        wait,
    )
    from .dkim import (
        cancel_dkim_rotation,
        complete_dkim_rotation,
        dkim_key,
        dkim_keys,
        generate_dkim_key,
        rotate_dkim_key,
    )
    from .rendering import render_message
    from .subscribers import forget, subscribe, unsubscribe, upsert_subscribers


def __getattr__(name: str) -> Any:
    module = _FUNCTIONS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
