"""Small shared helpers: time stamps in the API's format, random name suffixes."""

from __future__ import annotations

import random
import string
from datetime import UTC, datetime

# The alphabet Kubernetes uses for generated names: no vowels, no confusable digits.
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(dt: datetime | None = None) -> str:
    """`2024-01-02T03:04:05Z`: the second-precision form the API uses for timestamps."""
    return (dt or now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_micro(dt: datetime | None = None) -> str:
    """`2024-01-02T03:04:05.123456Z`: MicroTime, used by Events' eventTime and Leases."""
    return (dt or now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(NAME_ALPHABET) for _ in range(n))


def random_hex(n: int) -> str:
    return "".join(random.choice(string.hexdigits[:16]) for _ in range(n))
