"""URLs of the tracking benchmark: the bare reference view, then the example site's own URLs.

The bare view answers ``/bench/bare/<token>`` with the open pixel's GIF and headers, without reading the token
or touching the database: the same server, settings, middleware and URL resolution as a real open hit, minus the
tracking work (token check, agent class, the event's INSERT). ``tracking_load.py`` checks that both answers carry
the same bytes and headers.
"""

from django.http import HttpResponse
from django.urls import re_path
from example.urls import urlpatterns as site_urlpatterns

from wagtail_newsletter.track.views import _TRACKING_HEADERS, PIXEL_GIF


def bare_pixel(request, token):
    return HttpResponse(PIXEL_GIF, content_type="image/gif", headers=_TRACKING_HEADERS)


urlpatterns = [re_path(r"^bench/bare/(?P<token>[0-9A-Za-z.]{1,80})/?$", bare_pixel), *site_urlpatterns]
