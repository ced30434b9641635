from django.urls import path

from . import views, webhooks

app_name = "outbox"

urlpatterns = [
    path("", views.OutboxIndexView.as_view(), name="index"),
    path("clear/", views.clear_outbox, name="clear"),
    path("webhooks/", webhooks.ReceivedWebhooksView.as_view(), name="webhooks"),
    path("<str:name>/", views.OutboxMessageView.as_view(), name="message"),
    path("<str:name>/html/", views.message_html, name="html"),
]
