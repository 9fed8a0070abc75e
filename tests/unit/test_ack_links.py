"""Acknowledgement link tokens: signed, bound to one delivery."""

from __future__ import annotations

from reach import links


def test_a_token_names_its_delivery_and_cannot_be_moved_to_another() -> None:
    key = b"k" * 32
    token = links.token(41, key)
    assert links.delivery_of(token, key) == 41
    assert links.delivery_of(token.replace("41-", "42-"), key) is None
    assert links.delivery_of(token, b"another key") is None
    assert links.delivery_of("41", key) is None and links.delivery_of("", key) is None
    assert links.ack_url("http://x/", 41, key) == f"http://x/ack/{token}"
