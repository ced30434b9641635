"""The exceptions of the Python API: each says what went wrong in a message for people, and carries a stable
``code`` (and, for bad input, the ``field``) that callers — the REST API maps them to RFC 9457 problems — can read.

Every function of ``wagtail_newsletter.api`` checks its input before writing anything: when one of these is raised,
nothing was changed.
"""

from __future__ import annotations


class NewsletterError(Exception):
    """Base class of every error the API raises on purpose.

    ``code``: a stable, machine-readable name ("invalid", "invalid_email", "not_found", "invalid_state", "timeout");
    ``field``: the argument or row key at fault, when there is one; ``str(error)``: the message (translated).
    """

    code = "error"
    status = 400  # the HTTP status a web layer would answer with

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = str(message)
        self.field = field


class InvalidInput(NewsletterError, ValueError):
    """A value that cannot be used: a name with a line break, an unknown custom field, a time in the past…"""

    code = "invalid"
    status = 422


class InvalidEmail(InvalidInput):
    """Not an email address this platform can store and mail."""

    code = "invalid_email"


class NotFound(NewsletterError, LookupError):
    """No subscriber, group, segment, campaign, page or sender domain by that name, address or id."""

    code = "not_found"
    status = 404


class InvalidState(NewsletterError):
    """The action is not possible in the object's current state: pausing a campaign that is not sending, sending
    one whose sender domain is not verified, rendering a message of a campaign that has not started…

    ``problems``: every reason, when there are several (``str(error)`` joins them)."""

    code = "invalid_state"
    status = 409

    def __init__(self, message: str, *, field: str | None = None, problems: list[str] | None = None):
        super().__init__(message, field=field)
        self.problems = [str(problem) for problem in (problems or [message])]


class WaitTimeout(NewsletterError, TimeoutError):
    """``wait`` gave up before the campaign finished; ``progress`` is where it stood."""

    code = "timeout"
    status = 504

    def __init__(self, message: str, *, progress=None):
        super().__init__(message)
        self.progress = progress
