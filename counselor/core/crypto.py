"""Authenticated encryption at rest with a rotating key ring.

Every sensitive text column stores ``Sealed`` bytes: AES-256-GCM under the first key of
``COUNSELOR_ENCRYPTION_KEYS``, with the table, column and row id as associated data, so a
ciphertext copied onto another row or column fails to decrypt instead of showing the wrong
person's words. Models declare such a column with :func:`encrypted`, a descriptor that turns
plaintext into ciphertext on assignment (the row id is made in Python first, see
``UUIDPrimaryKey``) and back on read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import uuid
from dataclasses import dataclass
from operator import itemgetter

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app
from sqlalchemy import LargeBinary, inspect, select
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

FORMAT_V1 = b"\x01"
NONCE_BYTES = 12
KEY_ID_BYTES = 4


class DecryptionError(Exception):
    """A ciphertext could not be opened: wrong key, wrong row or tampered bytes."""


class KeyConfigError(ValueError):
    """COUNSELOR_ENCRYPTION_KEYS is malformed; the message is one sentence."""


@dataclass(frozen=True)
class _Key:
    key_id: bytes
    aead: AESGCM


class KeyRing:
    """The first key encrypts; every key decrypts (so old rows stay readable during rotation)."""

    def __init__(self, spec: str):
        keys: list[_Key] = []
        for n, part in enumerate(p.strip() for p in spec.split(",")):
            if not part:
                continue
            try:
                raw = base64.urlsafe_b64decode(part.encode() + b"=" * (-len(part) % 4))
            except (binascii.Error, ValueError):
                raise KeyConfigError(
                    f"Encryption key #{n + 1} in COUNSELOR_ENCRYPTION_KEYS is not base64."
                ) from None
            if len(raw) != 32:
                raise KeyConfigError(
                    f"Encryption key #{n + 1} in COUNSELOR_ENCRYPTION_KEYS must be 32 bytes "
                    "(run `flask keys generate`)."
                )
            keys.append(_Key(hashlib.sha256(raw).digest()[:KEY_ID_BYTES], AESGCM(raw)))
        if not keys:
            raise KeyConfigError("COUNSELOR_ENCRYPTION_KEYS holds no key.")
        self._keys = keys
        self._by_id = {k.key_id: k for k in keys}

    @property
    def primary_id(self) -> bytes:
        """Identifier of the key that encrypts new data."""
        return self._keys[0].key_id

    def encrypt(self, plaintext: str | bytes, aad: bytes) -> bytes:
        """Seal text (or bytes) under the primary key, bound to ``aad``."""
        key = self._keys[0]
        nonce = os.urandom(NONCE_BYTES)
        data = plaintext if isinstance(plaintext, bytes) else plaintext.encode()
        return FORMAT_V1 + key.key_id + nonce + key.aead.encrypt(nonce, data, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> str:
        """Open a sealed text; raises DecryptionError for any mismatch."""
        return self.decrypt_bytes(blob, aad).decode()

    def decrypt_bytes(self, blob: bytes, aad: bytes) -> bytes:
        """Open a sealed value as bytes; raises DecryptionError for any mismatch."""
        return _unseal(self._by_id, blob, aad)

    def opener(self, prefix: str, binary: bool):
        """A function opening many values of one column: ``open_(blob, row_id)`` with the
        associated data ``prefix`` + the row id's text, None for None. One call per value
        into ``_unseal`` (a caseload page opens about 250 values; three calls each cost more
        than the opening itself)."""
        by_id = self._by_id

        def open_(blob: bytes | None, row_id: uuid.UUID | str) -> str | bytes | None:
            if blob is None:
                return None
            plain = _unseal(by_id, bytes(blob), f"{prefix}{row_id}".encode())
            return plain if binary else plain.decode()

        return open_

    def open_all(self, prefix: str, binary: bool, blobs: list, row_ids: list) -> list:
        """``opener``'s openings of many values in one call: each blob (None stays None) with
        the associated data ``prefix`` + its row id's text. A full caseload page opens about
        250 values; one call per value through ``open_`` and ``_unseal`` cost more Python than
        the openings themselves cost in OpenSSL."""
        aads = [f"{prefix}{row_id}".encode() for row_id in row_ids]
        return self._open_bound(binary, blobs, aads)

    def open_packed(self, prefix: str, binary: bool, blobs: list, ids: str) -> list:
        """``open_all`` with the row ids given as one text, their texts back to back
        (``row_id_records``): each blob (None stays None) with ``prefix`` + its row's id."""
        records = row_id_records(ids, len(blobs), prefix.encode())
        return self._open_bound(binary, blobs, records.split(b"\n") if blobs else [])

    def _open_bound(self, binary: bool, blobs: list, aads: list) -> list:
        plain = _unseal_all(self._by_id, blobs, aads)
        return plain if binary else [None if p is None else p.decode() for p in plain]

    def key_id_of(self, blob: bytes) -> bytes:
        """The key identifier a sealed value was made with."""
        return blob[1 : 1 + KEY_ID_BYTES]


def _unseal(by_id: dict[bytes, _Key], blob: bytes, aad: bytes) -> bytes:
    """Open a sealed value with the key it names; raises DecryptionError for any mismatch."""
    return _unseal_all(by_id, (blob,), (aad,))[0]


def _unseal_all(by_id: dict[bytes, _Key], blobs, aads) -> list[bytes | None]:
    """Open sealed values, each with the key it names and its associated data (None stays
    None); raises DecryptionError for any mismatch. Every opening goes through here, many in
    one call where a page opens many (``KeyRing.open_all``)."""
    blobs, aads = list(blobs), list(aads)
    if len(blobs) != len(aads):
        raise ValueError("one associated data for each sealed value")
    # A page's values are bytes sealed in one format with one key: checked for all of them
    # at once, then opened by C functions mapped over the page (the loop below cost about a
    # third of what a page's openings cost in OpenSSL)
    if set(map(type, blobs)) == {bytes} and min(map(len, blobs)) >= _SHORTEST:
        heads = set(map(_HEAD, blobs))
        head = heads.pop() if len(heads) == 1 else b""
        key = by_id.get(head[1:]) if head[:1] == FORMAT_V1 else None
        if key is not None:
            try:
                return list(map(key.aead.decrypt, map(_NONCE, blobs), map(_SEALED, blobs), aads))
            except InvalidTag:
                raise DecryptionError("ciphertext does not belong here or was altered") from None
    opened: list[bytes | None] = []
    add = opened.append
    for blob, aad in zip(blobs, aads, strict=True):
        if blob is None:
            add(None)
            continue
        blob = bytes(blob)  # a driver may hand back a memoryview
        if len(blob) < _SHORTEST or blob[0] != _FORMAT:
            raise DecryptionError("unknown ciphertext format")
        key = by_id.get(blob[1:_NONCE_AT])
        if key is None:
            raise DecryptionError("ciphertext was sealed with a key that is not configured")
        try:
            add(key.aead.decrypt(blob[_NONCE_AT:_SEALED_AT], blob[_SEALED_AT:], aad))
        except InvalidTag:
            raise DecryptionError("ciphertext does not belong here or was altered") from None
    return opened


# the layout of a sealed value: format, key id, nonce, ciphertext and tag (16 bytes)
_FORMAT = FORMAT_V1[0]
_NONCE_AT = 1 + KEY_ID_BYTES
_SEALED_AT = _NONCE_AT + NONCE_BYTES
_SHORTEST = _SEALED_AT + 16
_HEAD = itemgetter(slice(_NONCE_AT))
_NONCE = itemgetter(slice(_NONCE_AT, _SEALED_AT))
_SEALED = itemgetter(slice(_SEALED_AT, None))


#: where each of a UUID's 32 hex digits goes in its text (``str(uuid)``: 8-4-4-4-12)
_DIGIT_AT = tuple(d + (d >= 8) + (d >= 12) + (d >= 16) + (d >= 20) for d in range(32))


def row_id_records(ids: str | bytes, count: int, prefix: bytes = b"") -> bytes:
    """``prefix`` + the text (``str(uuid)``) of each of ``count`` row ids, one a line: ``ids``
    holds their texts back to back, each 36 characters (``str(uuid)``) or 32 hex digits
    (SQLite's, dashed here). What a page's associated data is made of (``open_packed``),
    split by the caller.

    Made by strided copies, one per character of an id, into records laid out once: about
    forty C calls whatever ``count``. Dashing each id (five slices and a join) and formatting
    its associated data cost a caseload page about a million instructions, a tenth of it."""
    if isinstance(ids, str):
        ids = ids.encode()
    width = len(ids) // count if count else 36
    if width * count != len(ids) or width not in (32, 36):
        raise ValueError("each row id's text is 32 hex digits or 36 characters")
    record = prefix + b"-" * 36 + b"\n"
    size, at = len(record), len(prefix)
    out = bytearray(record * count)
    for char, place in enumerate(_DIGIT_AT if width == 32 else range(36)):
        out[at + place :: size] = ids[char::width]
    return bytes(out[:-1])


def keyring() -> KeyRing:
    """The key ring of the current app (every sealed value read or written asks for it)."""
    # _get_current_object: one call, where an attribute of the proxy first fails as the
    # proxy's own (an AttributeError made and formatted) before the proxy looks it up
    return current_app._get_current_object().extensions["counselor_keyring"]


class Sealed(TypeDecorator):
    """Column type for ciphertext produced by :class:`KeyRing` (opaque bytes in the database)."""

    impl = LargeBinary
    cache_ok = True


def associated_data(table: str, column: str, row_id: uuid.UUID | str) -> bytes:
    """What a ciphertext is bound to: its table, column and row."""
    return f"counselor:{table}:{column}:{row_id}".encode()


#: every (model class, attribute name) declared with ``encrypted``; used by key rotation.
REGISTRY: list[tuple[type, str]] = []


class EncryptedText:
    """Descriptor exposing plaintext for a ``Sealed`` column named ``<name>_sealed``."""

    def __init__(self, nullable: bool, binary: bool = False):
        self.nullable = nullable
        self.binary = binary

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column = f"{name}_sealed"
        self.owner = owner
        REGISTRY.append((owner, name))

    def _aad(self, obj) -> bytes:
        if obj.id is None:
            obj.id = uuid.uuid4()
        return associated_data(obj.__tablename__, self.name, obj.id)

    def open(self, blob: bytes | None, row_id: uuid.UUID | str) -> str | bytes | None:
        """The plaintext of this column's ``blob`` on row ``row_id``, for a page that reads
        plain columns (``Case.label.open(row.label_sealed, row.id)``) instead of objects."""
        return self.opener()(blob, row_id)

    def opener(self, *, as_bytes: bool = False):
        """``open`` for the many rows of one page: the key ring and the associated data's
        prefix are looked up once, not once per value (a caseload opens dozens). ``row_id``
        may be the id's text (``str(uuid)``), which is all the associated data holds.
        ``as_bytes``: a text column's plaintext as its UTF-8 bytes, not decoded (for a
        parser that reads bytes)."""
        prefix = associated_data(self.owner.__tablename__, self.name, "").decode()
        return keyring().opener(prefix, self.binary or as_bytes)

    def open_all(self, blobs: list, row_ids: list) -> list:
        """``open`` of many values of this column in one call: ``blobs[i]`` on row
        ``row_ids[i]`` (an id or its text), for a page of many rows (``KeyRing.open_all``)."""
        prefix = associated_data(self.owner.__tablename__, self.name, "").decode()
        return keyring().open_all(prefix, self.binary, blobs, row_ids)

    def open_packed(self, blobs: list, ids: str) -> list:
        """``open_all`` with the rows' ids as one text, their texts back to back: 36
        characters each (``str(uuid)``) or 32 hex digits (``KeyRing.open_packed``)."""
        prefix = associated_data(self.owner.__tablename__, self.name, "").decode()
        return keyring().open_packed(prefix, self.binary, blobs, ids)

    def seal(self, plain: str | bytes, row_id: uuid.UUID) -> bytes:
        """The ciphertext of ``plain`` for this column on row ``row_id``, as assigning the
        attribute makes it, for a write through Core (``Response.answers_json.seal(...)``)."""
        plain = bytes(plain) if self.binary else str(plain)
        aad = associated_data(self.owner.__tablename__, self.name, row_id)
        return keyring().encrypt(plain, aad)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        cache = obj.__dict__.setdefault("_plaintext_cache", {})
        hit = cache.get(self.name)
        if hit is not None and hit[0] is blob:
            return hit[1]
        ring = keyring()
        opened = (ring.decrypt_bytes if self.binary else ring.decrypt)(bytes(blob), self._aad(obj))
        cache[self.name] = (blob, opened)
        return opened

    def __set__(self, obj, value: str | None) -> None:
        if value is None:
            if not self.nullable:
                raise ValueError(f"{self.name} cannot be empty")
            setattr(obj, self.column, None)
            return
        plain = bytes(value) if self.binary else str(value)
        if obj.id is None:
            obj.id = uuid.uuid4()
        blob = self.seal(plain, obj.id)
        setattr(obj, self.column, blob)
        obj.__dict__.setdefault("_plaintext_cache", {})[self.name] = (blob, plain)


def encrypted(nullable: bool = False, *, binary: bool = False) -> EncryptedText:
    """A text (or, with ``binary``, bytes) attribute stored encrypted in ``<name>_sealed``."""
    return EncryptedText(nullable, binary)


def sealed_column(nullable: bool = False) -> Mapped[bytes]:
    """The ciphertext column that backs an :func:`encrypted` attribute."""
    return mapped_column(Sealed(), nullable=nullable)


def only_rewrapped(target) -> bool:
    """Whether a pending update of ``target`` only re-encrypts sealed values under another key
    (what ``rotate_all`` does), every plaintext staying the same: append-only and immutable
    rows allow exactly this change."""
    state = inspect(target)
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        if not attr.key.endswith("_sealed") or old is None:
            return False
        name = attr.key.removesuffix("_sealed")
        descriptor = getattr(type(target), name, None)
        if not isinstance(descriptor, EncryptedText):
            return False
        ring = keyring()
        opened = (ring.decrypt_bytes if descriptor.binary else ring.decrypt)(
            bytes(old), associated_data(target.__tablename__, name, target.id)
        )
        if opened != getattr(target, name):
            return False
    return True


def rotate_all(session) -> tuple[int, int]:
    """Re-encrypt every sealed value not under the primary key; returns (checked, rewritten).

    Safe to run again: values already under the primary key are left untouched.
    """
    ring = keyring()
    checked = rewritten = 0
    for model, name in REGISTRY:
        column = f"{name}_sealed"
        for obj in session.scalars(select(model)).yield_per(500):
            blob = getattr(obj, column)
            if blob is None:
                continue
            checked += 1
            if ring.key_id_of(bytes(blob)) != ring.primary_id:
                setattr(obj, name, getattr(obj, name))
                rewritten += 1
        session.flush()
    return checked, rewritten
