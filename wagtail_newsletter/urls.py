"""Public endpoints; a site mounts them with ``path("newsletter/", include("wagtail_newsletter.urls"))``."""

from django.urls import path

from .audience import embed as embed_views
from .audience import views as audience_views

app_name = "wagtail_newsletter"

urlpatterns = [
    path("subscribe/<int:form_id>/", audience_views.subscribe, name="subscribe"),
    path("subscribe/<int:form_id>/thanks/", audience_views.subscribe_done, name="subscribe_done"),
    path("confirm/<str:token>/", audience_views.confirm, name="confirm"),
    path("embed/<int:form_id>/", embed_views.embed, name="embed"),
    path("embed/<int:form_id>/thanks/", embed_views.embed_done, name="embed_done"),
    path("embed/<int:form_id>.js", embed_views.embed_loader, name="embed_loader"),
]
