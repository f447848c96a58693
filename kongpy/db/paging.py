"""Page sizes, opaque offset tokens and tag filters (shared by every DAO)."""
from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from kongpy.errors import InvalidOffset, InvalidOptions, InvalidSize

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_TAGS = 5
_NOT_LUA_NUMBER = re.compile(r"[^0-9eE.+\-\s]")
_TAGS_RE = re.compile(r"^([^,/]+)((,[^,/]+)*|(/[^,/]+)*)$")
# The bytes Kong's Admin API accepts in a tags filter, as the client sent
# them: printable ASCII but ',' and '/', and the bytes of UTF-8 sequences.
_TAG_FILTER_BYTES = re.compile(rb"^[\x20-\x2B\x2D\x2E\x30-\x7E\x80-\xF4,/]*$")


def check_size(size: Any) -> int:
    if size is None:
        return DEFAULT_PAGE_SIZE
    if isinstance(size, str):
        # Lua's tonumber: no "nan", "inf" or "1_0", but "1e400" is a (huge) number.
        if _NOT_LUA_NUMBER.search(size):
            raise InvalidSize("size must be a number")
        try:
            size = float(size)
        except ValueError:
            raise InvalidSize("size must be a number") from None
    if isinstance(size, bool) or not isinstance(size, (int, float)) or size != size:
        raise InvalidSize("size must be a number")
    if not 1 <= size <= MAX_PAGE_SIZE or size != int(size):
        raise InvalidSize(f"size must be an integer between 1 and {MAX_PAGE_SIZE}")
    return int(size)


def encode_offset(key: list) -> str:
    raw = json.dumps(key, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode().rstrip("=")


def decode_offset(token: str) -> list:
    try:
        padded = token + "=" * (-len(token) % 4)
        raw = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidOffset(token, "bad base64 encoding") from None
    try:
        key = json.loads(raw)
    except ValueError:
        raise InvalidOffset(token, "bad json encoding") from None
    if not isinstance(key, list) or not key or not all(isinstance(k, str) for k in key):
        raise InvalidOffset(token, "bad json encoding")
    return key


def parse_tags(value: str | None, raw: bytes | None = None) -> tuple[list[str], bool]:
    """``a,b`` -> (["a","b"], any=False); ``a/b`` -> (["a","b"], any=True).

    ``raw`` is the value's bytes before any decoding (a control character or
    a byte no UTF-8 text holds is refused, where decoding would have replaced it).
    """
    if value is None or value == "":
        raise InvalidOptions({"tags": "cannot be null"})
    if not _TAGS_RE.match(value) or (raw is not None and not _TAG_FILTER_BYTES.match(raw)):
        raise InvalidOptions({"tags": "invalid filter syntax"})
    any_of = "/" in value
    tags = re.split(r"[,/]", value)
    check_tags(tags)
    return tags, any_of


def check_tags(tags: list[str]) -> None:
    if len(tags) > MAX_TAGS:
        raise InvalidOptions({"tags": f"cannot query more than {MAX_TAGS} tags"})
