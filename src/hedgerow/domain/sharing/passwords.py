"""Share passwords (salted PBKDF2, Django's format) and the tokens a correct password earns.

A token is an HS256 JWT (audience `posthog:sharing_password_protected`) signed with a key derived
from the password's stored hash: deactivating the password, or rotating its hash, voids every
token minted with it, and no server-wide secret has to be configured.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

ALGORITHM = "pbkdf2_sha256"
ITERATIONS = 120_000
AUDIENCE = "posthog:sharing_password_protected"
TOKEN_LIFETIME_SECONDS = 24 * 3600


def hash_password(raw: str, *, salt: str | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_urlsafe(12)
    digest = hashlib.pbkdf2_hmac("sha256", raw.encode(), salt.encode(), iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode()}"


def check_password(raw: str, encoded: str) -> bool:
    try:
        algorithm, iterations, salt, _ = encoded.split("$", 3)
    except ValueError:
        return False
    if algorithm != ALGORITHM:
        return False
    return hmac.compare_digest(hash_password(raw, salt=salt, iterations=int(iterations)), encoded)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(password_hash: str) -> bytes:
    return hashlib.sha256(b"hedgerow-share-token:" + password_hash.encode()).digest()


def mint_token(*, password_id: int, password_hash: str, project_id: int, access_token: str) -> str:
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = _b64(
        json.dumps(
            {
                "share_password_id": password_id,
                "team_id": project_id,
                "access_token": access_token,
                "exp": int(time.time()) + TOKEN_LIFETIME_SECONDS,
                "aud": AUDIENCE,
            }
        ).encode()
    )
    signature = hmac.new(_key(password_hash), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64(signature)}"


def unverified_claims(token: str) -> dict[str, Any] | None:
    try:
        _, payload, _ = token.split(".")
        claims = json.loads(_unb64(payload))
    except (ValueError, json.JSONDecodeError):
        return None
    return claims if isinstance(claims, dict) else None


def verify_token(token: str, password_hash: str) -> dict[str, Any] | None:
    try:
        header, payload, signature = token.split(".")
        expected = hmac.new(_key(password_hash), f"{header}.{payload}".encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(signature)):
            return None
    except ValueError:
        return None
    claims = unverified_claims(token)
    if claims is None or claims.get("aud") != AUDIENCE or int(claims.get("exp", 0)) < time.time():
        return None
    return claims
