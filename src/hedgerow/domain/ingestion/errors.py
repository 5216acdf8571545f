"""Why a capture request is refused. Each code maps to one HTTP status in `api/routes/capture.py`."""

from __future__ import annotations

from hedgerow.errors import DomainError


class CaptureRejected(DomainError):
    """The payload cannot be accepted as sent (a client error; SDKs do not retry it)."""

    default_code = "invalid_payload"
    default_detail = "The payload could not be accepted."


class IngestKeyRequired(DomainError):
    default_code = "ingest_key_required"
    default_detail = "No project API key (token) was found in the request."


class IngestKeyUnknown(DomainError):
    default_code = "ingest_key_unknown"
    default_detail = "The project API key (token) is invalid or unknown."


class PayloadTooLarge(DomainError):
    default_code = "payload_too_large"
    default_detail = "The request payload is too large."
