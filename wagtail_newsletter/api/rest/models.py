"""The REST API's own tables: API keys (made in the admin, stored hashed), the stored answers of idempotent writes."""

import hashlib
import hmac

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    READ = "read", _("Read: list and export subscribers, groups, fields, campaigns, events")
    WRITE = "write", _("Write: add, change, unsubscribe and forget subscribers; groups, fields, draft campaigns")
    SEND = "send", _("Send: schedule, pause, resume and cancel campaigns")


def hash_secret(secret):
    # The secret is 256 random bits: a fast hash is enough (no dictionary to guess from), and it is computed on every
    # request. SHA-256 of the secret alone: the prefix is public.
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(models.Model):
    """A key a program sends as ``Authorization: Bearer wn_<prefix>_<secret>``; only the secret's hash is kept."""

    name = models.CharField(_("name"), max_length=100, help_text=_("Who or what uses this key, e.g. 'CRM sync'."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    # Space-separated ``Scope`` values.
    scopes = models.CharField(_("scopes"), max_length=40, default=Scope.READ)
    # The key acts as this person: history entries name them, and sending asks their permission to send.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("acts as")
    )
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Empty: the key never expires (delete it to revoke it).")
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self):
        return f"{self.name} (wn_{self.prefix}_…)"

    @property
    def scope_list(self):
        return [scope for scope in self.scopes.split() if scope in Scope.values]

    def has_scope(self, scope):
        return scope in self.scope_list

    def is_expired(self, now=None):
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def secret_matches(self, secret):
        return hmac.compare_digest(self.secret_hash, hash_secret(secret))


class IdempotentResponse(models.Model):
    """The answer given to a write sent with an ``Idempotency-Key`` header, replayed for the same key and request."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of method, path, query and body: the same key with another request is refused.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100)
    body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent response")
        verbose_name_plural = _("idempotent responses")
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="wagtail_newsletter_idempotency_unique")]

    def __str__(self):
        return f"{self.api_key_id}:{self.key}"
