from django.urls import path

from . import views

app_name = "outbox"

urlpatterns = [
    path("", views.OutboxIndexView.as_view(), name="index"),
    path("clear/", views.clear_outbox, name="clear"),
    path("<str:name>/", views.OutboxMessageView.as_view(), name="message"),
    path("<str:name>/html/", views.message_html, name="html"),
]
