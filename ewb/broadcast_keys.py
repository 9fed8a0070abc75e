"""`ewb broadcast keygen`: a fresh SM2 key pair for the broadcast signature, as TOML lines.

For tests, the sandbox and interop trials: in production the platform's operator issues
ewb's key and certificate (usually held in certified crypto hardware), and its serial
number is the certificate's. The lines go into the EWB_CONFIG file; the private key is a
secret, so `--out` writes a file only its owner can read and never replaces one.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from channels import ebd_sign
from config.settings import Settings
from ewb.admin import AdminError


def keygen(settings: Settings, args: argparse.Namespace) -> int:
    """Print (or write to `--out`) a new key pair as settings lines."""
    private, public = ebd_sign.keygen()
    if args.simulator:
        lines = [
            "# the broadcast simulator's SM2 key pair: it signs with the first, ewb verifies",
            f'sim_broadcast_private_key = "{private}"',
            f'broadcast_platform_public_key = "{public}"',
        ]
    else:
        lines = [
            "# ewb's SM2 key pair and a random certificate serial number (keep the key secret)",
            f'broadcast_private_key = "{private}"',
            f'broadcast_public_key = "{public}"',
            f'broadcast_cert_sn = "{secrets.token_hex(6)}"',
        ]
    text = "\n".join(lines) + "\n"
    if args.out is None:
        sys.stdout.write(text)
        return 0
    _write_new(args.out, text)
    print(f"wrote {args.out}: add its lines to the EWB_CONFIG file", file=sys.stderr)
    return 0


def _write_new(path: Path, text: str) -> None:
    """Create `path` readable by its owner only; AdminError if it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AdminError(f"{path} exists; not overwritten (choose another --out)") from None
    except OSError as e:
        raise AdminError(f"cannot create {path}: {e.strerror}") from e
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
