"""Public double opt-in views (thin: parsing and rendering; logic in ``optin``)."""

from django.http import Http404


def subscribe(request, form_id):
    raise Http404


def confirm(request, token):
    raise Http404
