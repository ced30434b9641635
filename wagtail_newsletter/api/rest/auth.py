"""django-ninja's side of API keys: each operation names the scope it needs (``auth=KeyAuth("write")``)."""

from django.utils.translation import gettext as _
from ninja.security import HttpBearer

from .keys import check_key, count_request
from .problems import ApiProblem


class KeyAuth(HttpBearer):
    """``Authorization: Bearer wn_<prefix>_<secret>`` with ``scope``; the request's ``auth`` is the ApiKey.

    Refusals raise (handled into problems by ``app``): KeyRefused (401), ApiProblem 403 for a missing scope,
    RateLimited (429); a request without the header gets 401 from django-ninja's AuthenticationError.
    """

    openapi_description = "An API key made in the admin (Newsletter › API keys): wn_<prefix>_<secret>."

    def __init__(self, scope):
        super().__init__()
        self.scope = scope

    def authenticate(self, request, token):
        api_key = check_key(token)
        if not api_key.has_scope(self.scope):
            raise ApiProblem(
                403, "missing_scope",
                _("This API key lacks the “%(scope)s” scope this request needs.") % {"scope": self.scope},
            )  # fmt: skip
        count_request(api_key)
        return api_key


read = KeyAuth("read")
write = KeyAuth("write")
send = KeyAuth("send")
