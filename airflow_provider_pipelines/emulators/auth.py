"""Checks of credentials: bearer tokens, required headers, HS256 JWTs."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web


def bearer_auth_error(request: web.Request, token: str | None) -> web.Response | None:
    """A 401 reply when ``token`` is set and the request lacks ``Authorization: Bearer <token>``."""
    if token is None:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        message = "Unauthorized: missing Authorization header with a bearer token"
    elif scheme.lower() != "bearer" or value.strip() != token:
        message = "Unauthorized: invalid bearer token"
    else:
        return None
    return web.Response(status=401, text=message, headers={"WWW-Authenticate": 'Bearer realm="emulator"'})


def missing_headers(request: web.Request, required: Mapping[str, str] | None) -> list[str]:
    """Names of the ``required`` headers the request lacks or sends with another value (names are
    case-insensitive, values exact), in ``required``'s order; empty when nothing is required."""
    if not required:
        return []
    return [name for name, value in required.items() if request.headers.get(name) != value]


def bearer_token(request: web.Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (scheme case-insensitive); ``None`` if absent."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    token = value.strip()
    return token if scheme.lower() == "bearer" and token else None


class JwtError(ValueError):
    """A JWT rejected by :func:`decode_hs256_jwt`; ``expired`` tells an expired token from a bad one."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise JwtError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise JwtError("not base64url") from None


def _hs256(secret: str | bytes, signing_input: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, signing_input.encode("ascii"), hashlib.sha256).digest()


def encode_hs256_jwt(claims: Mapping[str, Any], secret: str | bytes) -> str:
    """A compact JWS (``{"alg": "HS256", "typ": "JWT"}``) of ``claims``, as PyJWT's ``jwt.encode``."""
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(dict(claims), separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}"
    return f"{signing_input}.{_b64url(_hs256(secret, signing_input))}"


def decode_hs256_jwt(
    token: str, secret: str | bytes, at: float | None = None, issuer: str | None = None
) -> dict[str, Any]:
    """The claims of an HS256 JWT signed with ``secret``; raises :class:`JwtError`.

    Checked: the shape, ``alg`` (only HS256: ``none`` and others are refused), the signature, ``iss``
    when ``issuer`` is given, then ``exp`` (required; expired when ``at >= exp``, no leeway).
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise JwtError("not a JWT")
    try:
        header = json.loads(_b64url_decode(parts[0]))
        claims = json.loads(_b64url_decode(parts[1]))
    except (UnicodeDecodeError, ValueError):
        raise JwtError("not a JWT") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise JwtError("not a JWT")
    if header.get("alg") != "HS256":
        raise JwtError(f"unsupported alg {header.get('alg')!r}")
    if not hmac.compare_digest(_b64url_decode(parts[2]), _hs256(secret, f"{parts[0]}.{parts[1]}")):
        raise JwtError("bad signature")
    if issuer is not None and claims.get("iss") != issuer:
        raise JwtError("wrong issuer")
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise JwtError("no exp claim")
    if (time.time() if at is None else at) >= exp:
        raise JwtError("expired", expired=True)
    return claims
