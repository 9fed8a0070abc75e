"""SM2 signatures of EBD packages: a fixed vector, gmssl and OpenSSL as outside checks, layouts."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from gmssl import sm2  # type: ignore[import-untyped]

from channels import ebd, ebd_sign
from tests.support import TZ

# A fixed test vector, made once with ebd_sign (keygen, then Signer.sign) and checked with
# OpenSSL 3.0 (`openssl dgst -sm3 -verify … -sigopt distid:1234567812345678`). A change of
# the signing layout, the signed bytes or the user id breaks it.
VECTOR_PRIVATE = "1aac66088239867ee9b55e9e45dc87be28f312bedeb8834655364b09c4e46c8f"
VECTOR_PUBLIC = (
    "c5d7f6786f12aa50a35e8862af25211327a47cddd2f531f09d5505c848f41737"
    "05418caa7ae36465ac875941607265d0f5699572d4a77d45b3b93e0c4e4b4cf3"
)
VECTOR_SN = "0000000033aa"
VECTOR_ID = "10532092110100001030101010000000000000001"
VECTOR_AT = datetime(2025, 7, 14, 10, 0, 6, tzinfo=TZ)
VECTOR_EBDB = """<?xml version="1.0" encoding="utf-8"?>
<EBD>
  <EBDVersion>1.0</EBDVersion>
  <EBDID>10532092110100001030101010000000000000001</EBDID>
  <EBDType>EBDResponse</EBDType>
  <SRC><EBRID>53209211010000103010101</EBRID></SRC>
  <DEST><EBRID>43209210000000103010101</EBRID></DEST>
  <EBDTime>2025-07-14 10:00:06</EBDTime>
  <RelatedEBD><EBDID>10432092100000001030101010000000000000001</EBDID></RelatedEBD>
  <EBDResponse>
    <ResultCode>1</ResultCode>
    <ResultDesc>接收解析及数据校验成功</ResultDesc>
  </EBDResponse>
</EBD>
""".encode()
VECTOR_VALUE = (
    "aHRkpgAAAAAzqg5TW+PfFrslj+fuu+eNhW6J/nD568AUeZ5iwlJjNFjBX72G9tG6VdwZy9nyOqZJGPCByJKFC3kKS83f"
    "X8Q/Cig="
)
VECTOR_EBDS = f"""<?xml version="1.0" encoding="utf-8"?>
<Signature>
  <Version>1.0</Version>
  <RelatedEBD>
    <EBDID>10532092110100001030101010000000000000001</EBDID>
  </RelatedEBD>
  <SignatureCert>
    <CertType>1</CertType>
    <IssuerID>000000000000</IssuerID>
    <CertSN>0000000033aa</CertSN>
  </SignatureCert>
  <SignatureTime>687464a6</SignatureTime>
  <DigestAlgorithm>SM3</DigestAlgorithm>
  <SignatureAlgorithm>SM2</SignatureAlgorithm>
  <SignatureValue>{VECTOR_VALUE}</SignatureValue>
</Signature>
""".encode()
VECTOR_R_S = base64.b64decode(VECTOR_VALUE)[10:]
# A pair whose public key starts with 04 (gmssl 3.2.2's CryptSM2 strips it with lstrip).
LEADING_04_PRIVATE = "bb87e926f18e43b2488ef5406fa96c29249137918948f6d335b9a326b5157db1"
LEADING_04_PUBLIC = (
    "044f4e22faaf25ab1e68781646a591a0dd21caed9eef627bbd7fd2e7a8f3b270"
    "fb60dfd6e5a3288ea2e76b0ae6f0de297e10db06b645515f50d1e2cd8840ad6f"
)


def gmssl_verifies(public_key: str, r_s: bytes, message: bytes) -> bool:
    """gmssl's own SM2-with-SM3 check, not going through ebd_sign."""
    return bool(
        sm2.CryptSM2(private_key="", public_key=public_key).verify_with_sm3(r_s.hex(), message)
    )


def value_of(ebds: bytes) -> bytes:
    found = re.search(rb"<SignatureValue>([^<]*)</SignatureValue>", ebds)
    assert found is not None
    return base64.b64decode(found.group(1))


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_the_fixed_vector_verifies_with_gmssl_directly() -> None:
    assert gmssl_verifies(VECTOR_PUBLIC, VECTOR_R_S, VECTOR_EBDB)
    assert not gmssl_verifies(VECTOR_PUBLIC, VECTOR_R_S, flipped(VECTOR_EBDB, 100))


def test_the_fixed_vector_verifies_with_ebd_sign() -> None:
    ebd_sign.verify(VECTOR_EBDS, VECTOR_EBDB, VECTOR_PUBLIC)
    parsed = ebd_sign.parse_signature(VECTOR_EBDS)
    assert parsed == ebd_sign.Signature(
        VECTOR_ID, VECTOR_SN, datetime(2025, 7, 14, 2, 0, 6, tzinfo=UTC), VECTOR_R_S
    )


def _openssl_has_sm2() -> bool:
    if shutil.which("openssl") is None:
        return False
    listed = subprocess.run(
        ["openssl", "list", "-public-key-algorithms"], capture_output=True, text=True, check=False
    )
    return "SM2" in listed.stdout


@pytest.mark.skipif(not _openssl_has_sm2(), reason="no openssl command with SM2")
def test_the_fixed_vector_verifies_with_openssl(tmp_path: Path) -> None:
    # SubjectPublicKeyInfo: id-ecPublicKey on the curve SM2 (1.2.156.10197.1.301), 04‖x‖y.
    spki = bytes.fromhex("3059301306072a8648ce3d020106082a811ccf5501822d03420004" + VECTOR_PUBLIC)
    pem = (
        "-----BEGIN PUBLIC KEY-----\n"
        + base64.encodebytes(spki).decode()
        + "-----END PUBLIC KEY-----\n"
    )
    (tmp_path / "pub.pem").write_text(pem)
    (tmp_path / "sig.der").write_bytes(_der(VECTOR_R_S))
    (tmp_path / "ebdb.xml").write_bytes(VECTOR_EBDB)
    checked = subprocess.run(
        [
            *("openssl", "dgst", "-sm3", "-verify", "pub.pem", "-signature", "sig.der"),
            *("-sigopt", "distid:1234567812345678", "ebdb.xml"),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.stdout.strip() == "Verified OK", checked.stderr


def _der(r_s: bytes) -> bytes:
    def integer(part: bytes) -> bytes:
        part = part.lstrip(b"\0")
        part = b"\0" + part if part[0] & 0x80 else part
        return b"\x02" + bytes([len(part)]) + part

    body = integer(r_s[:32]) + integer(r_s[32:])
    return b"\x30" + bytes([len(body)]) + body


def test_signing_writes_the_layout_of_the_fixed_vector() -> None:
    signer = ebd_sign.Signer(VECTOR_PRIVATE, VECTOR_PUBLIC, VECTOR_SN)
    made = signer.sign(VECTOR_EBDB, VECTOR_ID, VECTOR_AT)
    # The nonce is random, so r‖s differs; everything else is byte for byte the vector.
    head = base64.b64encode(value_of(made)[:10])
    assert re.sub(rb"<SignatureValue>[^<]*<", b"<SignatureValue>" + head + b"<", made) == (
        VECTOR_EBDS.replace(VECTOR_VALUE.encode(), head)
    )
    assert value_of(made)[:10] == bytes.fromhex("687464a6" + VECTOR_SN)
    assert gmssl_verifies(VECTOR_PUBLIC, value_of(made)[10:], VECTOR_EBDB)


def test_the_value_is_time_then_cert_sn_then_r_s() -> None:
    made = ebd_sign.Signer(VECTOR_PRIVATE, cert_sn="ABCDEF012345").sign(b"<EBD/>", "x", VECTOR_AT)
    value = value_of(made)
    assert len(value) == 74
    assert int.from_bytes(value[:4], "big") == int(VECTOR_AT.timestamp())
    assert value[4:10] == bytes.fromhex("abcdef012345")
    assert b"<CertSN>abcdef012345</CertSN>" in made


def test_a_fresh_signature_verifies_over_the_exact_ebdb_bytes() -> None:
    private, public = ebd_sign.keygen()
    ebdb = "<EBD><EBDID>1</EBDID><MsgDesc>台风红色预警</MsgDesc></EBD>\n".encode()
    made = ebd_sign.Signer(private, public).sign(ebdb, "1", VECTOR_AT)
    assert gmssl_verifies(public, value_of(made)[10:], ebdb)
    ebd_sign.verify(made, ebdb, public)


@pytest.mark.parametrize("at", [0, 40, 300, len(VECTOR_EBDB) - 2])
def test_a_flipped_byte_of_the_ebdb_fails(at: int) -> None:
    with pytest.raises(ebd_sign.SignatureInvalid) as refused:
        ebd_sign.verify(VECTOR_EBDS, flipped(VECTOR_EBDB, at), VECTOR_PUBLIC)
    assert not isinstance(refused.value, ebd_sign.SignatureMissing)
    assert "does not match" in str(refused.value)
    assert refused.value.result_code == 4


def test_a_flipped_bit_of_the_signature_or_another_key_fails() -> None:
    value = base64.b64decode(VECTOR_VALUE)
    forged = VECTOR_EBDS.replace(VECTOR_VALUE.encode(), base64.b64encode(flipped(value, 40)))
    with pytest.raises(ebd_sign.SignatureInvalid, match="does not match"):
        ebd_sign.verify(forged, VECTOR_EBDB, VECTOR_PUBLIC)
    with pytest.raises(ebd_sign.SignatureInvalid, match="does not match"):
        ebd_sign.verify(VECTOR_EBDS, VECTOR_EBDB, ebd_sign.keygen()[1])


@pytest.mark.parametrize("ebds", [None, b""])
def test_a_missing_signature_is_told_from_a_bad_one(ebds: bytes | None) -> None:
    with pytest.raises(ebd_sign.SignatureMissing, match="no EBDS") as refused:
        ebd_sign.verify(ebds, VECTOR_EBDB, VECTOR_PUBLIC)
    assert isinstance(refused.value, ebd.EbdError) and refused.value.result_code == 4


UNREADABLE = {
    "not XML": (b"<Signature>", "well-formed"),
    "another root": (b"<EBD/>", "root"),
    "no value": (VECTOR_EBDS.replace(VECTOR_VALUE.encode(), b""), "SignatureValue"),
    "not base64": (VECTOR_EBDS.replace(VECTOR_VALUE.encode(), b"%%%%"), "SignatureValue"),
    "short value": (VECTOR_EBDS.replace(VECTOR_VALUE.encode(), b"AAAA"), "SignatureValue"),
    "RSA": (VECTOR_EBDS.replace(b">SM2<", b">RSA<"), "SignatureAlgorithm"),
    "SHA-256": (VECTOR_EBDS.replace(b">SM3<", b">SHA256<"), "DigestAlgorithm"),
    "time not hex": (VECTOR_EBDS.replace(b">687464a6<", b">2025-07-14<"), "SignatureTime"),
}


@pytest.mark.parametrize(("ebds", "says"), UNREADABLE.values(), ids=UNREADABLE.keys())
def test_an_unreadable_signature_is_bad_not_missing(ebds: bytes, says: str) -> None:
    with pytest.raises(ebd_sign.SignatureInvalid, match=says) as refused:
        ebd_sign.verify(ebds, VECTOR_EBDB, VECTOR_PUBLIC)
    assert not isinstance(refused.value, ebd_sign.SignatureMissing)


def gospell(value: str) -> bytes:
    """The flattened 2018 Gospell layout (§6), as its EBD_Signature class writes it."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Signature>
  <RelatedEBD><EBDID>{VECTOR_ID}</EBDID></RelatedEBD>
  <Version>1.0</Version>
  <CertSN>0001230000000001</CertSN>
  <SignatureAlgorithm>SM2-SM3</SignatureAlgorithm>
  <SignatureValue>
    {value}
  </SignatureValue>
</Signature>
""".encode()


GOSPELL = {
    "74 bytes, base64": base64.b64decode(VECTOR_VALUE),
    "bare r‖s, base64": VECTOR_R_S,
}


@pytest.mark.parametrize("value", GOSPELL.values(), ids=GOSPELL.keys())
def test_the_gospell_flattened_layout_is_read(value: bytes) -> None:
    flat = gospell(base64.b64encode(value).decode())
    ebd_sign.verify(flat, VECTOR_EBDB, VECTOR_PUBLIC)
    parsed = ebd_sign.parse_signature(flat)
    assert (parsed.related_ebd_id, parsed.cert_sn, parsed.r_s) == (
        VECTOR_ID,
        "0001230000000001",
        VECTOR_R_S,
    )
    assert parsed.time == (datetime(2025, 7, 14, 2, 0, 6, tzinfo=UTC) if len(value) == 74 else None)


def test_a_hex_value_and_a_namespaced_root_are_read() -> None:
    ebd_sign.verify(gospell(VECTOR_R_S.hex().upper()), VECTOR_EBDB, VECTOR_PUBLIC)
    namespaced = VECTOR_EBDS.replace(
        b"<Signature>", b'<Signature xmlns:xs="http://www.w3.org/2001/XMLSchema">'
    )
    ebd_sign.verify(namespaced, VECTOR_EBDB, VECTOR_PUBLIC)


def test_keygen_makes_a_valid_pair() -> None:
    pairs = {ebd_sign.keygen() for _ in range(3)}
    assert len(pairs) == 3
    for private, public in pairs:
        assert re.fullmatch(r"[0-9a-f]{64}", private) and re.fullmatch(r"[0-9a-f]{128}", public)
        assert ebd_sign.public_key_of(private) == public
        assert ebd_sign.check_public_key(public) == public  # a point of the curve
        assert not public.startswith("04")
        crypt = sm2.CryptSM2(private_key=private, public_key=public)
        r_s = crypt.sign_with_sm3(b"EBDB", "1" * 64)
        assert crypt.verify_with_sm3(r_s, b"EBDB")


def test_a_public_key_starting_04_works_despite_gmssl() -> None:
    made = ebd_sign.Signer(LEADING_04_PRIVATE, LEADING_04_PUBLIC).sign(VECTOR_EBDB, "x", VECTOR_AT)
    ebd_sign.verify(made, VECTOR_EBDB, LEADING_04_PUBLIC)
    ebd_sign.verify(made, VECTOR_EBDB, "04" + LEADING_04_PUBLIC)  # with the point prefix
    # What the workaround is for: gmssl alone strips "044" and is left with 125 digits.
    with pytest.raises(ValueError, match="Odd-length"):
        gmssl_verifies(LEADING_04_PUBLIC, value_of(made)[10:], VECTOR_EBDB)


def test_the_signer_checks_its_keys() -> None:
    derived = ebd_sign.Signer(VECTOR_PRIVATE)
    assert (derived.public_key, derived.cert_sn) == (VECTOR_PUBLIC, "000000000000")
    assert VECTOR_PRIVATE not in repr(derived)
    with pytest.raises(ebd_sign.BadKey, match="not the one of the private key"):
        ebd_sign.Signer(VECTOR_PRIVATE, LEADING_04_PUBLIC)
    for private, public, sn in [
        ("12" * 31, "", ""),
        ("0x" + "1" * 62, "", ""),
        ("0" * 64, "", ""),
        (VECTOR_PRIVATE, "", "12345"),
        (VECTOR_PRIVATE, VECTOR_PUBLIC[:-2] + "00", ""),
    ]:
        with pytest.raises(ebd_sign.BadKey):
            ebd_sign.Signer(private, public, sn)
    with pytest.raises(ebd_sign.BadKey, match="1 … n−2"):
        ebd_sign.public_key_of("0" * 64)


def test_a_public_key_off_the_curve_is_refused() -> None:
    with pytest.raises(ebd_sign.BadKey, match="curve"):
        ebd_sign.check_public_key(VECTOR_PUBLIC[:-1] + "0")
    with pytest.raises(ebd_sign.BadKey, match="128 hex"):
        ebd_sign.verify(VECTOR_EBDS, VECTOR_EBDB, VECTOR_PUBLIC[:64])
