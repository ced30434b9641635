"""Admin URLs of the editor tools around newsletter pages (namespace ``newsletter_compose``)."""

from django.urls import include, path

from .newsletter_templates import NewFromTemplateView, SaveAsTemplateView
from .test_send import TestSendView

app_name = "newsletter_compose"

urlpatterns = [
    path("<int:page_id>/test/", TestSendView.as_view(), name="test_send"),
    path("<int:page_id>/save-as-template/", SaveAsTemplateView.as_view(), name="save_template"),
    path("from-template/", NewFromTemplateView.as_view(), name="from_template"),
]


def admin_urls():
    """For the ``register_admin_urls`` hook: mounted under the admin at ``newsletter/compose/``."""
    return [path("newsletter/compose/", include(f"{__name__}", namespace=app_name))]
