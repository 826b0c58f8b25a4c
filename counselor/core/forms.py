"""Form pieces shared by every feature."""

from functools import lru_cache

from flask import current_app, g, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from wtforms import SelectMultipleField, widgets
from wtforms.validators import ValidationError


class MultiCheckboxField(SelectMultipleField):
    """A list of checkboxes: accepts only the values offered (injected ids are refused)."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def no_nul(form, field) -> None:
    """NUL bytes are refused with a message rather than stored or crashing a driver."""
    if field.data and "\x00" in field.data:
        raise ValidationError("This text contains a NUL character; remove it and try again.")


def csrf_token() -> str:
    """Flask-WTF's ``generate_csrf``, the template's ``csrf_token()`` (every counselor page's
    sign-out form), the same token byte for byte, without compressing the session's raw token
    again on every page.

    itsdangerous tries ``zlib.compress`` on a token's payload at every signing, which sets up
    and clears a compressor's tables of a few hundred kilobytes for 42 bytes that it then
    keeps uncompressed. The payload is a function of the raw token alone (the time and the
    signature come after it), so it is kept per raw token (``_payload``) and signed as
    ``generate_csrf`` signs it; a session without a raw token yet is left to Flask-WTF."""
    app = current_app._get_current_object()
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if field not in g and isinstance(raw, str):
        secret = app.config.get("WTF_CSRF_SECRET_KEY", app.secret_key)
        if secret is not None:
            setattr(g, field, _KeptPayloads(secret, salt="wtf-csrf-token").dumps(raw))
    return generate_csrf()


class _KeptPayloads(URLSafeTimedSerializer):
    """Flask-WTF's serializer of CSRF tokens, its payload of a raw token made once."""

    def dump_payload(self, obj) -> bytes:
        """The payload of ``obj``: kept for a raw token (a text), as any serializer makes it."""
        return _payload(obj) if isinstance(obj, str) else super().dump_payload(obj)


@lru_cache(maxsize=1024)
def _payload(raw: str) -> bytes:
    # no key and no time in a payload: any serializer makes the same one
    return URLSafeTimedSerializer(b"payload only").dump_payload(raw)
