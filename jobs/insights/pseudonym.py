"""Keyed, stable pseudonyms for identifiers in exports meant for wide audiences.

`pseudonym(value) = "u_" + HMAC-SHA256(key, lower(value))[:16 hex]`: stable across nights and exports
for one key, unlinkable without it. The key comes from `ZTLAKE_PSEUDONYM_KEY` (the key itself), or
the file named by `ZTLAKE_PSEUDONYM_KEY_FILE` (default `~/.ztlake/pseudonym.key`, created with a
random key and mode 0600 on first use). It is never written to the lake or to any export.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from pyspark.sql import Column
from pyspark.sql import functions as F

DEFAULT_KEY_FILE = Path.home() / ".ztlake" / "pseudonym.key"
MIN_KEY_BYTES = 16


def key() -> bytes:
    env = os.environ.get("ZTLAKE_PSEUDONYM_KEY")
    if env:
        k = env.encode()
    else:
        path = Path(os.environ.get("ZTLAKE_PSEUDONYM_KEY_FILE", DEFAULT_KEY_FILE)).expanduser()
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        k = path.read_text().strip().encode()
    if len(k) < MIN_KEY_BYTES:
        raise ValueError(f"the pseudonym key must be at least {MIN_KEY_BYTES} bytes (ZTLAKE_PSEUDONYM_KEY or its key file)")
    return k


def pseudonym(value: str | None, k: bytes) -> str | None:
    if value is None:
        return None
    return "u_" + hmac.new(k, value.strip().lower().encode(), hashlib.sha256).hexdigest()[:16]


def pseudonym_col(c: Column, k: bytes) -> Column:
    """The same pseudonym, computed by Spark (HMAC-SHA256 from its definition, so both agree)."""
    block = 64
    kb = hashlib.sha256(k).digest() if len(k) > block else k
    kb = kb + b"\x00" * (block - len(kb))
    ipad = bytes(x ^ 0x36 for x in kb).hex()
    opad = bytes(x ^ 0x5C for x in kb).hex()
    msg = F.hex(F.encode(F.lower(F.trim(c)), "UTF-8"))
    inner = F.sha2(F.unhex(F.concat(F.lit(ipad), msg)), 256)
    outer = F.sha2(F.unhex(F.concat(F.lit(opad), inner)), 256)
    return F.when(c.isNotNull(), F.concat(F.lit("u_"), F.substring(outer, 1, 16)))
