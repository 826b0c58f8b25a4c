"""What a partner sends, checked against its item and normalised to the stored shape (pure).

An unacceptable answer is a message beside its item; an answer to something that is no
question of the questionnaire is a broken or forged request (``AnswerError``, a 4xx).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from counselor.questionnaires.schema import ANSWERABLE, DESIRE_ANSWERS, EXPERIENCE
from counselor.questionnaires.values import DESIRE_KEYS, as_number

if TYPE_CHECKING:
    from counselor.questionnaires.engine import Definition

#: length limits per answer, so no single box can take the whole request budget
MAX_STRING = 1_000
MAX_TEXT = 10_000
MAX_NOTE = 2_000
MAX_INTEGER = 10**12


class AnswerError(ValueError):
    """A request carried answers that cannot belong to this questionnaire (a 4xx)."""


def _clean_text(value: Any, limit: int, label: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"{label} must be text.")
    if "\x00" in value:
        raise _Invalid("This answer contains a NUL character; remove it and try again.")
    try:
        value.isascii() or value.encode("utf-8")  # an ASCII string encodes, known unscanned
    except UnicodeEncodeError:  # a lone surrogate ("\ud800" in JSON) cannot be stored or encrypted
        raise _Invalid(
            "This answer contains a character that cannot be saved; remove it and try again."
        ) from None
    if len(value) > limit:
        raise _Invalid(f"Please keep this under {limit:,} characters (it has {len(value):,}).")
    return value


class _Invalid(ValueError):
    """One answer is not acceptable; shown beside its item."""


def _option_values(item: dict) -> list[str]:
    return [o["value"] for o in item["options"]]


def normalise(item: dict, value: Any) -> Any:
    """Check one raw answer against its item and return the stored shape (None = cleared)."""
    if value is None or value == "" or value == []:
        return None
    check = _CHECKS.get(item["type"])
    if check is None:
        raise AnswerError(f"'{item['link_id']}' cannot be answered.")
    return check(item, value)


def _boolean(item: dict, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise _Invalid("Choose yes or no.")


def _text(item: dict, value: Any) -> str | None:
    default = MAX_STRING if item["type"] == "string" else MAX_TEXT
    return _clean_text(value, item.get("max_length", default), "This answer") or None


def _choice(item: dict, value: Any) -> Any:
    allowed = _option_values(item)
    values = value if isinstance(value, list) else [value]
    if not item.get("multiple") and len(values) > 1:
        raise _Invalid("Choose one option.")
    for v in values:
        if v not in allowed:
            raise _Invalid("Choose one of the options shown.")
    return [v for v in allowed if v in values] if item.get("multiple") else values[0]


def _open_choice(item: dict, value: Any) -> str | None:
    return _clean_text(value, MAX_STRING, "This answer").strip() or None


def _integer(item: dict, value: Any) -> int:
    if isinstance(value, bool):
        raise _Invalid("Enter a whole number.")
    try:
        number = int(value) if not isinstance(value, float) or value.is_integer() else None
    except (TypeError, ValueError):
        number = None
    if number is None or abs(number) > MAX_INTEGER:
        raise _Invalid("Enter a whole number.")
    _check_range(item, number)
    return number


def _decimal(item: dict, value: Any) -> str:
    if isinstance(value, bool):
        raise _Invalid("Enter a number.")
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except InvalidOperation:
        raise _Invalid("Enter a number, for example 2.5.") from None
    if not number.is_finite() or abs(number) > MAX_INTEGER or len(str(value)) > 40:
        raise _Invalid("Enter a number, for example 2.5.")
    _check_range(item, number)
    return str(number)


def _date(item: dict, value: Any) -> str:
    try:
        return _dt.date.fromisoformat(str(value)).isoformat()
    except ValueError:
        raise _Invalid("Enter a date as YYYY-MM-DD.") from None


def _check_range(item: dict, number) -> None:
    # as_number: a bound that is no finite number (a definition stored before such bounds
    # were refused) limits nothing instead of failing every save
    low, high = as_number(item.get("min")), as_number(item.get("max"))
    if low is not None and number < low:
        raise _Invalid(f"Enter {item['min']} or more.")
    if high is not None and number > high:
        raise _Invalid(f"Enter {item['max']} or less.")


#: what a desire answer may send (``hard_limit`` from pages made before limits per role)
_DESIRE_SENT = DESIRE_KEYS | {"hard_limit"}
_DESIRE_ANSWERS = frozenset(DESIRE_ANSWERS)


def _normalise_desire(item: dict, value: Any) -> dict | None:
    keys = [r["key"] for r in item["roles"]]
    return _desire(value, keys, frozenset(keys))


def _desire_check(item: dict):
    """The check of one desire item with its roles' keys worked out once (``_item_checks``:
    once per definition, not once per answer)."""
    keys = [r["key"] for r in item["roles"]]
    known = frozenset(keys)
    return lambda _item, value: _desire(value, keys, known)


def _desire(value: Any, keys: list[str], known: frozenset[str]) -> dict | None:
    # The stored shape is built here in one pass, as ``desire_value`` would build it from
    # the checked answer (an item-wide limit of older pages becomes a limit per role), and
    # an answer with nothing set is None, as ``has_answer`` would say. ``keys`` are the
    # item's roles in order, ``known`` the same as a set.
    if not isinstance(value, dict) or not value.keys() <= _DESIRE_SENT:
        raise _Invalid("This answer is not in the expected form.")
    get = value.get
    roles = get("roles") or {}
    if not isinstance(roles, dict):
        raise _Invalid("This answer is not in the expected form.")
    if roles.keys() <= known:  # the roles read in the item's order, the answer's shape
        chosen = {}
        for key in keys:
            answer = roles.get(key)  # None: not sent, or sent as None
            if answer is None or answer == "":
                continue
            if not isinstance(answer, str) or answer not in _DESIRE_ANSWERS:
                raise _Invalid("Choose one of the answers shown.")
            chosen[key] = answer
    else:  # a role the item does not have: the same refusals in the order they were sent
        chosen = _chosen_roles(roles, keys, known)
    limits = get("limits") or []
    if not isinstance(limits, list):
        raise _Invalid("This answer is not in the expected form.")
    if limits:
        if not all(isinstance(k, str) for k in limits):
            raise _Invalid("This answer is not in the expected form.")
        if not known.issuperset(limits):
            raise _Invalid("This answer names a role the question does not have.")
    hard_limit, fantasy = get("hard_limit", False), get("fantasy", False)
    if not isinstance(hard_limit, bool) or not isinstance(fantasy, bool):
        raise _Invalid("A tick box is either ticked or not.")
    experience = get("experience") or ""
    if experience and experience not in EXPERIENCE:
        raise _Invalid("Choose one of the answers shown.")
    note = get("note") or ""
    if note:  # an empty note needs no check
        note = _clean_text(note, MAX_NOTE, "The note")
    limited = [k for k in keys if k in limits] if limits else []
    if hard_limit and not limited:
        limited = [k for k in keys if chosen.get(k)] or keys
    if not (chosen or limited or fantasy or experience or note):
        return None
    return {
        "roles": chosen,
        "limits": limited,
        "fantasy": fantasy,
        "experience": experience,
        "note": note,
    }


def _chosen_roles(roles: dict, keys: list[str], known: frozenset[str]) -> dict:
    """``_desire``'s roles when they name one the item does not have: refused, unless an
    answer of a role sent before it is refused first."""
    clean_roles = {}
    for key, answer in roles.items():
        if key not in known:
            raise _Invalid("This answer names a role the question does not have.")
        if answer in (None, ""):
            continue
        if not isinstance(answer, str) or answer not in _DESIRE_ANSWERS:
            raise _Invalid("Choose one of the answers shown.")
        clean_roles[key] = answer
    return {k: clean_roles[k] for k in keys if k in clean_roles}


#: the check of each answerable item type (a definition's types are checked on import)
_CHECKS = {
    "boolean": _boolean,
    "string": _text,
    "text": _text,
    "choice": _choice,
    "open-choice": _open_choice,
    "integer": _integer,
    "scale": _integer,
    "decimal": _decimal,
    "date": _date,
    "desire": _normalise_desire,
}
#: the item types an answer may name (a frozenset: looked up once per answer)
_ANSWERABLE = frozenset(ANSWERABLE)


def _unanswerable(item: dict, value: Any):
    raise AnswerError(f"'{item['link_id']}' cannot be answered.")


def _item_checks(defn: Definition) -> dict[str, tuple[dict, Any]]:
    """``{link_id: (item, check)}`` of every answerable item: worked out once per definition
    (``Definition.derived``), so a save of thirty answers looks each one up once."""
    checks = {}
    for link_id, item in defn.by_id.items():
        kind = item["type"]
        if kind in _ANSWERABLE:
            check = _desire_check(item) if kind == "desire" else _CHECKS.get(kind, _unanswerable)
            checks[link_id] = (item, check)
    return checks


def validate_changes(defn: Definition, changes: Mapping[str, Any]) -> tuple[dict, dict[str, str]]:
    """Normalise a partial set of answers; returns (clean changes, {link_id: error}).

    Raises AnswerError for a link_id that is not a question of this definition: that is a
    broken or forged request, not a typing mistake.
    """
    checks = defn.derived("answer checks", _item_checks)
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for link_id, raw in changes.items():
        found = checks.get(link_id) if isinstance(link_id, str) else None
        if found is None:
            raise AnswerError(f"'{str(link_id)[:64]}' is not a question of this questionnaire.")
        if raw is None or raw == "" or raw == []:
            clean[link_id] = None  # cleared, as ``normalise`` says
            continue
        item, check = found
        try:
            clean[link_id] = check(item, raw)
        except _Invalid as exc:
            errors[link_id] = str(exc)
    return clean, errors


def merge(answers: Mapping[str, Any], changes: Mapping[str, Any]) -> dict:
    """Apply clean changes to stored answers; None clears an answer."""
    out = dict(answers)
    for link_id, value in changes.items():
        if value is None:
            out.pop(link_id, None)
        else:
            out[link_id] = value
    return out
