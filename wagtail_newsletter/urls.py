"""Public endpoints; a site mounts them with ``path("newsletter/", include("wagtail_newsletter.urls"))``."""

from django.urls import path, re_path

from .audience import embed as embed_views
from .audience import views as audience_views
from .growth import preference_views
from .send import test_web_version
from .track import views as track_views

app_name = "wagtail_newsletter"

# Links inside sent mails: short, with or without a trailing slash, and never redirected (APPEND_SLASH would answer
# a one-click unsubscribe POST with a 301). Tokens are matched case-insensitively by LinkSigner.
_TOKEN = r"(?P<token>[0-9A-Za-z.]{1,80})/?$"
# The open pixel may end in ".gif" (mailed without: shorter; a token's signature is hex, so never ends in "gif").
_TOKEN_GIF = r"(?P<token>[0-9A-Za-z.]{1,80}?)(?:\.gif)?/?$"

urlpatterns = [
    path("subscribe/<int:form_id>/", audience_views.subscribe, name="subscribe"),
    path("subscribe/<int:form_id>/thanks/", audience_views.subscribe_done, name="subscribe_done"),
    path("confirm/<str:token>/", audience_views.confirm, name="confirm"),
    path("embed/<int:form_id>/", embed_views.embed, name="embed"),
    path("embed/<int:form_id>/thanks/", embed_views.embed_done, name="embed_done"),
    path("embed/<int:form_id>.js", embed_views.embed_loader, name="embed_loader"),
    re_path(r"^u/" + _TOKEN, track_views.unsubscribe, name="unsubscribe"),
    re_path(r"^p/" + _TOKEN, preference_views.preferences_page, name="preferences"),
    re_path(r"^o/" + _TOKEN_GIF, track_views.open_pixel, name="open"),
    re_path(r"^c/" + _TOKEN, track_views.click, name="click"),
    re_path(r"^w/" + _TOKEN, track_views.web_version, name="web_version"),
    re_path(r"^t/" + _TOKEN, test_web_version.web_version_of_test, name="test_web_version"),
]
