"""The acknowledgement link in a resident's WeChat message: `/ack/<token>`.

The token names the delivery and is signed (HMAC-SHA256 with the install's link key), so
a link acknowledges its own message only and cannot be guessed from another. Pure.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_CHARS = 24  # 96 bits of the HMAC: enough against guessing, short in a URL
PATH = "/ack/"


def _signature(delivery_id: int, key: bytes) -> str:
    digest = hmac.new(key, f"ack:{delivery_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_CHARS]


def token(delivery_id: int, key: bytes) -> str:
    return f"{delivery_id}-{_signature(delivery_id, key)}"


def delivery_of(value: str, key: bytes) -> int | None:
    """The delivery a token stands for, or None if it is malformed or forged."""
    number, _, signature = value.partition("-")
    if not (number.isascii() and number.isdigit()) or len(number) > 18 or not signature.isascii():
        return None
    delivery_id = int(number)
    if not hmac.compare_digest(signature, _signature(delivery_id, key)):
        return None
    return delivery_id


def ack_url(public_base_url: str, delivery_id: int, key: bytes) -> str:
    return f"{public_base_url.rstrip('/')}{PATH}{token(delivery_id, key)}"
