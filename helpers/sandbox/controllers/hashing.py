"""Name hashes as Kubernetes computes them: FNV-32a, printed in decimal, safe-encoded.

The encoding maps each decimal digit into a vowel-free alphabet, which is why
pod-template-hash and controller-revision-hash values only use the characters [4-9bcdf].
"""

from __future__ import annotations

import json
import struct

ALPHANUMS = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(s: str) -> str:
    return "".join(ALPHANUMS[ord(c) % len(ALPHANUMS)] for c in s)


def canonical(obj) -> bytes:
    """Key-sorted compact JSON: a stable stand-in for Go's deep object dump."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def compute_hash(obj, collision_count: int | None = None) -> str:
    h = fnv32a(canonical(obj))
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF) + b"\0" * 4, h)
    return safe_encode(str(h))
