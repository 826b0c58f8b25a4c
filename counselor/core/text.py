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
    return isinstance(text, str) and UNSTORABLE.search(text) is not None
