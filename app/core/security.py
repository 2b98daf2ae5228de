"""Password hashing (argon2), access tokens (JWT) and API key material."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import Settings
from app.core.ids import new_id
from app.core.timeutil import utcnow

_password_hash = PasswordHash((Argon2Hasher(),))
# Verifying against this keeps the time of a login for an unknown email the same as for a
# known one, so the answer does not tell which emails have accounts.
_DUMMY_HASH = _password_hash.hash(secrets.token_urlsafe(16))


def configure_password_hashing(settings: Settings) -> None:
    """Argon2id with the settings' cost. Existing hashes keep verifying whatever the cost:
    each hash carries its own parameters."""
    global _password_hash, _DUMMY_HASH
    _password_hash = PasswordHash(
        (
            Argon2Hasher(
                time_cost=settings.argon2_time_cost,
                memory_cost=settings.argon2_memory_kib,
                parallelism=settings.argon2_parallelism,
            ),
        )
    )
    _DUMMY_HASH = _password_hash.hash(secrets.token_urlsafe(16))


API_KEY_PREFIX = "mk_"


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    return _password_hash.verify(password, password_hash)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: datetime


def create_access_token(settings: Settings, *, subject: str) -> AccessToken:
    now = utcnow()
    expires_at = now + timedelta(minutes=settings.access_token_minutes)
    claims = {"sub": subject, "iat": now, "exp": expires_at, "jti": new_id(), "typ": "access"}
    token = jwt.encode(
        claims, settings.secret_key.get_secret_value(), algorithm=settings.jwt_algorithm
    )
    return AccessToken(token=token, expires_at=expires_at)


def decode_access_token(settings: Settings, token: str) -> dict[str, Any] | None:
    """The token's claims, or None when it is forged, malformed or expired."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            settings.secret_key.get_secret_value(),
            algorithms=[settings.jwt_algorithm],
            options={"require": ["sub", "exp", "iat"]},
        )
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        return None
    return claims


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown to the client once, never stored
    prefix: str
    hashed: str


def generate_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    key = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, hashed=hash_api_key(key))


def hash_api_key(key: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str) -> str | None:
    if not key.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, _ = key[len(API_KEY_PREFIX) :].partition("_")
    return prefix if sep and len(prefix) == 12 else None


def api_key_matches(key: str, hashed: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), hashed)
