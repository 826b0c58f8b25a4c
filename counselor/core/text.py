"""What text Counselor can store: shared by the request boundary and the definition import."""

from __future__ import annotations

import re
from typing import Any

from markupsafe import escape

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


def escaped_all(texts: list[str]) -> list[str]:
    """Each of ``texts`` HTML-escaped as a template's ``{{ }}`` escapes it
    (``markupsafe.escape``), all of them in one call: joined by NUL, which no stored text
    holds (and which escaping leaves as it is), escaped, then split again. For a list page
    whose rows the template prints unescaped: each ``escape`` in a template is two Python
    calls, about 5,000 instructions, 250 of them on a full caseload page."""
    parts = str(escape("\x00".join(texts))).split("\x00")
    if len(parts) != len(texts):  # a text held a NUL after all (or there are none)
        return [str(escape(text)) for text in texts]
    return parts
