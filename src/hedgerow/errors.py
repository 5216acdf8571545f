"""Domain errors: what a service refuses, with a stable code.

Services raise these; only ``api/envelope.py`` knows how they become HTTP responses.

- ``DomainError``            base; ``code`` is stable, ``detail`` is for humans, ``attr`` names a field.
  - ``InvalidInput``         the request asks for something invalid (PostHog ``validation_error``).
  - ``NotFound``             the object does not exist or is not visible to the caller.
  - ``PermissionDenied``     the caller is known but may not do this.
  - ``AuthenticationFailed`` the presented credentials are wrong.
  - ``NotAuthenticated``     no credentials were presented.
  - ``MalformedRequest``     the body cannot be read as what it claims to be (PostHog ``parse_error``).
  - ``Conflict``             the request conflicts with the current state (unused by PostHog bodies yet).
"""

from __future__ import annotations


class DomainError(Exception):
    default_code = "error"
    default_detail = "A server error occurred."

    def __init__(self, detail: str | None = None, *, code: str | None = None, attr: str | None = None):
        self.detail = detail if detail is not None else self.default_detail
        self.code = code or self.default_code
        self.attr = attr
        super().__init__(self.detail)


class InvalidInput(DomainError):
    default_code = "invalid_input"
    default_detail = "Invalid input."


class MalformedRequest(DomainError):
    default_code = "parse_error"
    default_detail = "Malformed request."


class NotFound(DomainError):
    default_code = "not_found"
    default_detail = "Not found."


class PermissionDenied(DomainError):
    default_code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class AuthenticationFailed(DomainError):
    default_code = "authentication_failed"
    default_detail = "Incorrect authentication credentials."


class NotAuthenticated(DomainError):
    default_code = "not_authenticated"
    default_detail = "Authentication credentials were not provided."
