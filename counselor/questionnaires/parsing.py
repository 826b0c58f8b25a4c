"""Reading a definition's text: the size limits, and JSON parsing no text can crash (pure).

The limits bound a definition's size (evaluation is linear in it); ``size_problems`` and
``non_finite_numbers`` are the cheap checks ``schema.validate_definition`` runs before the
schema, so that a huge or hostile document costs little.
"""

from __future__ import annotations

import json
import math
from typing import Any

from counselor.core.text import unstorable

# Limits on an imported definition. Evaluation is linear in a definition's size, so these
# only bound that size; each sits well above real use (the built-in inventory has 242 items in
# 103,092 characters; the intake nests 3 levels, has 9 conditions on one item and chains 2
# deep). README lists them.
#: characters of the JSON text (the import form refuses more before parsing)
MAX_DEFINITION_CHARS = 400_000
#: items of every kind, groups and display items included
MAX_ITEMS = 1_000
#: groups inside groups (the library uses 2); checked before the schema, whose validator
#: would otherwise recurse without bound
MAX_NESTING = 8
#: enable_when conditions on one item
MAX_CONDITIONS = 20
#: options of one choice item
MAX_OPTIONS = 100
#: an item shown when a question is answered that is itself shown when another is, and so on
MAX_CHAIN = 100
#: digits of a number anywhere in the document
MAX_NUMBER_DIGITS = 40


class Problems(ValueError):
    """What was read cannot be used; ``errors`` are "path: reason" lines, one per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


class ParseError(Problems):
    """The text is not a definition we can read."""


def _refuse_constant(name: str) -> Any:
    raise ParseError([f"$: {name} is not a number a definition can hold"])


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise ParseError([f"$: a number has more than {MAX_NUMBER_DIGITS} digits"])
    return int(text)


def _parse_float(text: str) -> float:
    if len(text) > MAX_NUMBER_DIGITS + 10:
        raise ParseError([f"$: a number has more than {MAX_NUMBER_DIGITS} digits"])
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ParseError([f"$: the number {text[:20]} is too large"])
    return number


def parse_definition(text: str, max_chars: int = MAX_DEFINITION_CHARS) -> Any:
    """The JSON document in ``text``, or ParseError naming what is wrong and where.

    Every way the parser can fail is caught here: malformed JSON, nesting deeper than the
    parser's recursion (thousands of "["), integers past Python's 4,300-digit conversion limit,
    NaN and Infinity, and text over the size limit.
    """
    if len(text) > max_chars:
        raise ParseError([f"$: the text has {len(text):,} characters; at most {max_chars:,}"])
    try:
        return json.loads(
            text,
            parse_int=_parse_int,
            parse_float=_parse_float,
            parse_constant=_refuse_constant,
        )
    except json.JSONDecodeError as exc:
        raise ParseError(
            [f"$: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
        ) from None
    except RecursionError:
        raise ParseError(["$: nested too deeply to be a questionnaire definition"]) from None
    except ParseError:
        raise
    except ValueError as exc:  # any other conversion the parser gives up on
        raise ParseError([f"$: not a readable definition ({str(exc)[:80]})"]) from None


def _nodes(doc: Any):
    """Every (path, value) of a document, keys as values too, without recursion."""
    stack = [("$", doc)]
    while stack:
        path, value = stack.pop()
        yield path, value
        if isinstance(value, dict):
            for key, child in value.items():
                yield path, key
                stack.append((f"{path}.{key}" if _printable(key) else path, child))
        elif isinstance(value, list):
            stack.extend((f"{path}[{n}]", child) for n, child in enumerate(value))


def _printable(text: Any) -> bool:
    return isinstance(text, str) and not unstorable(text)


def size_problems(doc: Any) -> list[str]:
    """Size limits checked before the schema, so a huge or hostile document costs little.

    Returns the first problem found (a document this far off is not worth listing in full).
    """
    if not isinstance(doc, dict):
        return []
    for path, value in _nodes(doc):
        if isinstance(value, str) and not _printable(value):
            return [
                f"{path}: contains a NUL character or an unpaired surrogate (\\u0000, \\ud800); "
                "remove it"
            ]
    count = 0
    stack = [(doc.get("items"), "$.items", 1)]
    while stack:
        items, path, level = stack.pop()
        if not isinstance(items, list):
            continue
        count += len(items)
        if count > MAX_ITEMS:
            return [f"{path}: the definition has more than {MAX_ITEMS:,} items (groups count)"]
        for n, item in enumerate(items):
            if isinstance(item, dict) and isinstance(item.get("items"), list):
                if level >= MAX_NESTING:
                    return [
                        f"{path}[{n}].items: groups are nested too deeply "
                        f"(at most {MAX_NESTING} levels)"
                    ]
                stack.append((item["items"], f"{path}[{n}].items", level + 1))
    return []


def non_finite_numbers(doc: Any) -> list[str]:
    """Paths of NaN or infinite numbers (JSON parsers accept NaN, Infinity and 1e999).

    No comparison or range means anything with them, so they are refused by name.
    """
    errors, stack = [], [(doc, "$")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            shown = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
            errors.append(f"{path}: {shown} is not a number a definition can use")
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{n}]") for n, v in enumerate(value))
    return sorted(errors)
