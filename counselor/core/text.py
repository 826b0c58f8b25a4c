"""What text Counselor can store: shared by the request boundary and the definition import."""

from __future__ import annotations

import re
from typing import Any

#: characters no text can carry into Counselor: PostgreSQL refuses NUL in text columns, and a
#: lone surrogate (only a JSON "\ud800" escape makes one) cannot be encoded as UTF-8 for the
#: database, encryption or a page
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: Any) -> bool:
    """Whether a string holds a character that cannot be stored (NUL, lone surrogate)."""
    if not isinstance(text, str):
        return False
    if text.isascii():  # known without a scan; no surrogate is ASCII, so only a NUL can be
        return "\x00" in text
    return UNSTORABLE.search(text) is not None
