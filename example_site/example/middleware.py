"""The example site's LocaleMiddleware: pages by their URL's language, everything else by the visitor's.

The site's pages are under ``i18n_patterns`` without a prefix for English (``/…`` English, ``/fr/…`` French). With
that, Django's LocaleMiddleware makes every path without a prefix English — the newsletter's public endpoints
(sign-up, confirmation, preferences) and the admin too, which should keep speaking the visitor's language (their
browser's, or the one they chose). So: a page path keeps Django's answer; any other path gets the visitor's language.
"""

from django.middleware.locale import LocaleMiddleware
from django.urls import Resolver404, resolve
from django.utils import translation

PAGE_VIEW = "wagtail_serve"


class SiteLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        super().process_request(request)
        if translation.get_language_from_path(request.path_info):
            return  # /fr/…: the URL says
        try:
            match = resolve(request.path_info)
        except Resolver404:
            return
        if match.url_name == PAGE_VIEW:
            return  # a page of the default language
        translation.activate(translation.get_language_from_request(request))
        request.LANGUAGE_CODE = translation.get_language()
