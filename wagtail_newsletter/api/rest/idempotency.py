"""Idempotent writes: a write sent with ``Idempotency-Key: <any unique string>`` is done once per API key and key;
sent again within ``API_IDEMPOTENCY_SECONDS`` (24 h) it gets the first answer back (``Idempotent-Replayed: true``)
without doing the work again; the same key with another request (method, path, query or body) is a 422 problem.

The stored answer and the work are committed in one transaction whose first statement inserts the key's row: a
second request with the same key, arriving meanwhile, waits on that row's unique index and then replays the answer,
so two retries racing each other still do the work once. Answers that did nothing are not kept (401, 403, 429,
5xx: the work rolled back), so the client's retry is done for real.
"""

import hashlib

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from ...conf import newsletter_settings
from .keys import KeyRefused, bearer_key, check_key
from .models import IdempotentResponse
from .problems import problem_response

HEADER = "HTTP_IDEMPOTENCY_KEY"
_WRITES = ("POST", "PUT", "PATCH", "DELETE")
_NOT_KEPT = (401, 403, 429)


def _fingerprint(request):
    digest = hashlib.sha256()
    for part in (request.method, request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode() + b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record):
    response = HttpResponse(record.body, status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Wrap a Django view (one of the API's URL patterns) with the Idempotency-Key handling."""

    def wrapped(request, *args, **kwargs):
        key = request.META.get(HEADER)
        if key is None or request.method not in _WRITES:
            return view(request, *args, **kwargs)
        if not 1 <= len(key) <= 255 or not all(33 <= ord(char) <= 126 for char in key):
            return problem_response(
                400, "invalid_idempotency_key", _("An Idempotency-Key has 1 to 255 visible ASCII characters.")
            )
        try:
            api_key = check_key(bearer_key(request))
        except KeyRefused:
            return view(request, *args, **kwargs)  # answered by the API's own authentication (401)
        return _once(request, api_key, key, view, args, kwargs)

    wrapped.csrf_exempt = True
    return wrapped


def _once(request, api_key, key, view, args, kwargs):
    fingerprint = _fingerprint(request)
    now = timezone.now()
    expired = now - timezone.timedelta(seconds=newsletter_settings.API_IDEMPOTENCY_SECONDS)
    with transaction.atomic():
        IdempotentResponse.objects.filter(api_key=api_key, key=key, created_at__lt=expired).delete()
        try:
            with transaction.atomic():
                record = IdempotentResponse.objects.create(
                    api_key=api_key, key=key, fingerprint=fingerprint, status_code=0, content_type="", created_at=now
                )
        except IntegrityError:
            earlier = IdempotentResponse.objects.filter(api_key=api_key, key=key).first()
            if earlier is None:  # the earlier request failed and kept nothing: try again
                return problem_response(
                    409,
                    "idempotency_conflict",
                    _("A request with this Idempotency-Key failed just now: send it again."),
                )
            if earlier.fingerprint != fingerprint:
                return problem_response(
                    422, "idempotency_key_reused",
                    _("This Idempotency-Key was used for another request: use a new key for each request."),
                )  # fmt: skip
            if earlier.status_code == 0:
                return problem_response(
                    409, "idempotency_conflict", _("A request with this Idempotency-Key is still being processed.")
                )
            return _replay(earlier)
        response = view(request, *args, **kwargs)
        if response.status_code in _NOT_KEPT or response.status_code >= 500 or response.streaming:
            transaction.set_rollback(True)
            return response
        record.status_code = response.status_code
        record.content_type = response.get("Content-Type", "application/json")[:100]
        record.body = response.content.decode()
        record.save(update_fields=["status_code", "content_type", "body"])
    # Now and then, forget the expired answers of every key (indexed by time).
    if int(now.timestamp() * 1000) % 100 == 0:
        IdempotentResponse.objects.filter(created_at__lt=expired).delete()
    return response
