"""SM2 signatures of EBD packages (`EBDS_EBDB_<EBDID>.xml`): signing, verifying, keys (pure).

The reference (shared/standards/emergency_broadcast_ebd.md §6, open point 4) only knows the
layout from public code and one real sample; GY/T 389-2023 was not seen. Chosen here:

- The signed message is the exact bytes of the EBDB file, signed with SM2 over SM3 with the
  default user id `1234567812345678` (the Z value of GB/T 32918), as gmssl's
  `sign_with_sm3` does. The audio files are not signed: the EBDB binds them by name and Size.
- We write the `SignatureCert` form of the real sample: Version, RelatedEBD/EBDID,
  SignatureCert {CertType 1, IssuerID, CertSN}, SignatureTime (hex Unix seconds),
  DigestAlgorithm SM3, SignatureAlgorithm SM2, SignatureValue.
- SignatureValue = base64 of 4-byte SignatureTime ‖ 6-byte CertSN ‖ 64-byte r‖s (74 bytes),
  as the sample decodes. Only r‖s is checked: time and SN are not under the signature.
- We read both layouts leniently: that one, and Gospell's flattened Version,
  RelatedEBD/EBDID, CertSN, SignatureAlgorithm "SM2-SM3", SignatureValue; a value of 74
  bytes or of a bare 64-byte r‖s, in base64 or in hex.

Keys are hex: private 64 digits, public 128 digits x‖y (a leading `04` is accepted on
input). gmssl 3.2.2 has two traps worked around here: CryptSM2 strips a public key's
leading "04" with `lstrip` (py-gmssl issue 96), eating digits of an x that starts with 0 or
4, and it draws the signing nonce from `random`, not a cryptographic source.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from gmssl import sm2  # type: ignore[import-untyped]
from lxml import etree

from channels.ebd import XML_PARSER, EbdError

N = int(sm2.default_ecc_table["n"], 16)
P = int(sm2.default_ecc_table["p"], 16)
A = int(sm2.default_ecc_table["a"], 16)
B = int(sm2.default_ecc_table["b"], 16)
CERT_TYPE = "1"  # as in the real sample; the code table was not seen
NO_ISSUER = "000000000000"  # no setting names the CA: written as the sample's 12 digits
VALUE_LENGTH = 4 + 6 + 64
HEX_RE = re.compile(r"[0-9a-fA-F]+", re.ASCII)


class SignatureInvalid(EbdError):
    """A package whose EBDS signature is bad: unreadable, or not made by the expected key."""

    result_code = 4


class SignatureMissing(SignatureInvalid):
    """A package that carries no EBDS file where one is required."""


class BadKey(ValueError):
    """A key or certificate serial number that cannot be used (wrong length, not on the curve)."""


@dataclass(frozen=True)
class Signature:
    """What an EBDS file says, whichever of the two layouts it uses."""

    related_ebd_id: str | None
    cert_sn: str | None
    time: datetime | None
    r_s: bytes  # the 64-byte SM2 signature r‖s


class Signer:
    """ewb's (or the simulator's) signing key and certificate serial number."""

    def __init__(self, private_key: str, public_key: str = "", cert_sn: str = "") -> None:
        """Check the pair; an empty public key is derived, an empty cert SN is all zeros."""
        d = _private(private_key)
        derived = _public_of(d)
        if public_key and check_public_key(public_key) != derived:
            raise BadKey("the public key is not the one of the private key")
        sn = cert_sn or "0" * 12
        _hex_int(sn, 12, "certificate serial number")
        self._private_key = f"{d:064x}"
        self.public_key = derived
        self.cert_sn = sn.lower()

    def __repr__(self) -> str:  # never show the private key
        return f"Signer(public_key={self.public_key[:16]}…, cert_sn={self.cert_sn})"

    def sign(self, ebdb: bytes, ebd_id: str, at: datetime) -> bytes:
        """The EBDS XML file for these exact EBDB bytes, signed at `at`."""
        if at.tzinfo is None:
            raise ValueError("refusing a naive datetime: SignatureTime is Unix seconds")
        seconds = int(at.timestamp())
        value = seconds.to_bytes(4, "big") + bytes.fromhex(self.cert_sn) + self._r_s(ebdb)
        root = etree.Element("Signature")
        _sub(root, "Version", "1.0")
        _sub(_sub(root, "RelatedEBD"), "EBDID", ebd_id)
        cert = _sub(root, "SignatureCert")
        _sub(cert, "CertType", CERT_TYPE)
        _sub(cert, "IssuerID", NO_ISSUER)
        _sub(cert, "CertSN", self.cert_sn)
        _sub(root, "SignatureTime", f"{seconds:08x}")
        _sub(root, "DigestAlgorithm", "SM3")
        _sub(root, "SignatureAlgorithm", "SM2")
        _sub(root, "SignatureValue", base64.b64encode(value).decode("ascii"))
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + etree.tostring(
            root, encoding="utf-8", pretty_print=True
        )

    def _r_s(self, message: bytes) -> bytes:
        crypt = _crypt(self.public_key, self._private_key)
        while True:  # gmssl answers None for the rare nonces that give r or s = 0
            nonce = f"{secrets.randbelow(N - 1) + 1:064x}"
            signed: str | None = crypt.sign_with_sm3(message, nonce)
            if signed is not None:
                return bytes.fromhex(signed)


@functools.cache
def signer_for(private_key: str, public_key: str = "", cert_sn: str = "") -> Signer | None:
    """The signer of these settings, made once (deriving the public key takes a while);
    None for an empty private key."""
    return Signer(private_key, public_key, cert_sn) if private_key else None


def verify(ebds: bytes | None, ebdb: bytes, public_key: str) -> None:
    """Nothing if `ebds` signs these EBDB bytes with `public_key`; SignatureInvalid if not."""
    if not ebds:
        raise SignatureMissing("签名验证失败: the package carries no EBDS_EBDB_*.xml signature")
    key = check_public_key(public_key)
    signature = parse_signature(ebds)
    r, s = int.from_bytes(signature.r_s[:32], "big"), int.from_bytes(signature.r_s[32:], "big")
    if not (0 < r < N and 0 < s < N) or not _valid(key, signature.r_s, ebdb):
        raise SignatureInvalid(
            "签名验证失败: the EBDS signature does not match the EBDB bytes"
            " (another key, or the package was altered)"
        )


def parse_signature(ebds: bytes) -> Signature:
    """Read either EBDS layout; SignatureInvalid if it is not a readable SM2 signature."""
    try:
        root = etree.fromstring(ebds, XML_PARSER)
    except etree.XMLSyntaxError as e:
        raise SignatureInvalid(f"签名验证失败: the EBDS file is not well-formed XML: {e}") from e
    if etree.QName(root).localname != "Signature":
        raise SignatureInvalid("签名验证失败: the EBDS root element is not Signature")
    for path, needed in (("DigestAlgorithm", "SM3"), ("SignatureAlgorithm", "SM2")):
        named = _text(root, path)
        if named is not None and needed not in named.upper():
            raise SignatureInvalid(f"签名验证失败: {path} {named!r} is not {needed}")
    value = _value(_text(root, "SignatureValue") or "")
    time, sn = None, _text(root, "SignatureCert/CertSN") or _text(root, "CertSN")
    if len(value) == VALUE_LENGTH:
        time = datetime.fromtimestamp(int.from_bytes(value[:4], "big"), UTC)
        sn = sn or value[4:10].hex()
    stamp = _text(root, "SignatureTime")
    if stamp is not None:
        try:
            time = datetime.fromtimestamp(int(stamp, 16), UTC)
        except (ValueError, OverflowError):
            raise SignatureInvalid(f"签名验证失败: SignatureTime {stamp!r} is not hex") from None
    return Signature(_text(root, "RelatedEBD/EBDID"), sn, time, value[-64:])


def keygen() -> tuple[str, str]:
    """A new (private key, public key) pair, 64 and 128 hex digits, from `secrets`."""
    while True:
        d = secrets.randbelow(N - 2) + 1
        public = _public_of(d)
        # A public key starting 04 is valid, but gmssl 3.2.2 peers misread it (see above).
        if not public.startswith("04"):
            return f"{d:064x}", public


def public_key_of(private_key: str) -> str:
    """The 128-hex-digit public key x‖y of a 64-hex-digit private key."""
    return _public_of(_private(private_key))


def check_public_key(public_key: str) -> str:
    """The key as 128 lower-case hex digits x‖y; BadKey unless it is a point of the curve."""
    key = public_key[2:] if len(public_key) == 130 and public_key.startswith("04") else public_key
    _hex_int(key, 128, "public key")
    x, y = int(key[:64], 16), int(key[64:], 16)
    if not (x < P and y < P and (y * y - x * x * x - A * x - B) % P == 0):
        raise BadKey("the public key is not a point of the SM2 curve")
    return key.lower()


def _value(text: str) -> bytes:
    """The decoded SignatureValue: base64 (as written) or hex, 74 or 64 bytes."""
    compact = "".join(text.split())
    if len(compact) in (128, 2 * VALUE_LENGTH) and HEX_RE.fullmatch(compact):
        return bytes.fromhex(compact)
    try:
        value = base64.b64decode(compact, validate=True)
    except binascii.Error:
        value = b""
    if len(value) not in (64, VALUE_LENGTH):
        raise SignatureInvalid("签名验证失败: SignatureValue is not a 74 or 64-byte SM2 value")
    return value


def _valid(public_key: str, r_s: bytes, message: bytes) -> bool:
    try:
        return bool(_crypt(public_key).verify_with_sm3(r_s.hex(), message))
    except (TypeError, ValueError):  # gmssl fails on degenerate points instead of answering
        return False


def _crypt(public_key: str, private_key: str = "") -> sm2.CryptSM2:
    crypt = sm2.CryptSM2(private_key=private_key, public_key=public_key)
    crypt.public_key = public_key  # undo gmssl's lstrip("04"), see the module docstring
    return crypt


def _public_of(d: int) -> str:
    # gmssl has no key generation; its own point multiplication gives d·G.
    point: str = _crypt("")._kg(d, sm2.default_ecc_table["g"])
    return point.lower()


def _private(text: str) -> int:
    d = _hex_int(text, 64, "private key")
    if not 0 < d < N - 1:  # SM2 signing inverts 1 + d, so n − 1 is excluded too
        raise BadKey("the private key is not in 1 … n−2")
    return d


def _hex_int(text: str, digits: int, what: str) -> int:
    # Not int(text, 16) alone: it also takes "0x", "_", signs and spaces.
    if len(text) != digits or not HEX_RE.fullmatch(text):
        raise BadKey(f"the {what} is not {digits} hex digits")
    return int(text, 16)


def _text(parent: etree._Element, path: str) -> str | None:
    return (parent.findtext(path) or "").strip() or None


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = text
    return el
