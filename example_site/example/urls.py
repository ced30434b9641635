import importlib.util

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.conf.urls.static import static
from django.urls import include, path
from outbox.webhooks import receive as receive_demo_webhook
from wagtail import urls as wagtail_urls
from wagtail.admin import urls as wagtailadmin_urls
from wagtail.documents import urls as wagtaildocs_urls

urlpatterns = [
    path("admin/", include(wagtailadmin_urls)),
    path("documents/", include(wagtaildocs_urls)),
    # The REST API (docs/developers/rest-api.md): before the public endpoints' own "newsletter/".
    path("newsletter/api/v1/", include("wagtail_newsletter.api.rest.urls")),
    path("newsletter/", include("wagtail_newsletter.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # The demo's own webhook receiver (outbox/webhooks.py): setup_demo registers it as an endpoint.
    path("demo-webhooks/", receive_demo_webhook, name="demo_webhooks"),
]
if importlib.util.find_spec("anymail"):
    # Bounces, complaints and unsubscribes posted by a sending service (docs/operators-esp-webhooks.md).
    urlpatterns.append(path("anymail/", include("anymail.urls")))
if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
if settings.WAGTAIL_I18N_ENABLED:
    # Pages under a language prefix (Wagtail's "Internationalisation" docs): English at /…, French at /fr/…, so each
    # translation of a page (a newsletter, its web version, the archive) has its own public URL.
    urlpatterns += i18n_patterns(path("", include(wagtail_urls)), prefix_default_language=False)
else:
    urlpatterns += [path("", include(wagtail_urls))]
