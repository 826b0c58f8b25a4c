"""Questionnaires, their immutable versions, assignments to cases, links and responses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from datetime import date, datetime
from operator import itemgetter

import orjson
from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    event,
    false,
    inspect,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

import counselor.cases.models  # noqa: F401  (relationship("Case"), "Partner")
from counselor.core.crypto import encrypted, sealed_column
from counselor.core.models import (
    Timestamps,
    UUIDPrimaryKey,
    cascade_key,
    children,
    numbered_within,
    one_of,
    stamped,
)
from counselor.extensions import db
from counselor.questionnaires import values
from counselor.questionnaires.engine import Definition, answer_part

RESPONSE_STATUSES = ("not_opened", "opened", "draft", "submitted")


class Questionnaire(UUIDPrimaryKey, Timestamps, db.Model):
    """A form or exercise; its content lives in versions. Built-ins have no owner."""

    __tablename__ = "questionnaire"
    __table_args__ = (
        UniqueConstraint("owner_id", "slug", name="uq_questionnaire_owner_slug"),
        # The library reads built-ins, shared ones and the counselor's own: with this and the
        # owner index that is a BitmapOr of three index scans, where a sequential scan would
        # read every other counselor's questionnaires (bench/scale.py; README, Practice scale).
        Index(
            "ix_questionnaire_shared",
            "shared",
            postgresql_where=text("shared IS TRUE"),
            sqlite_where=text("shared IS 1"),
        ),
    )

    slug: Mapped[str] = mapped_column(String(64), index=True)
    #: None for the built-in library, else the counselor who imported it
    owner_id: Mapped[uuid.UUID | None] = cascade_key("counselor.id")
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(32))
    #: the owner shares it read-only with every counselor of the practice (who can clone it)
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire",
        order_by="QuestionnaireVersion.number",
        cascade="all, delete-orphan",
    )

    @property
    def latest(self) -> QuestionnaireVersion | None:
        """The newest published version (the one new assignments use); None for a questionnaire
        that is still a draft."""
        return next((v for v in reversed(self.versions) if v.published_at is not None), None)

    @property
    def newest(self) -> QuestionnaireVersion:
        """The newest version, a draft or published (the one the builder opens)."""
        return self.versions[-1]


class QuestionnaireVersion(UUIDPrimaryKey, db.Model):
    """One immutable definition of a questionnaire; answers always render against it."""

    __tablename__ = "questionnaire_version"
    __table_args__ = numbered_within("questionnaire_id", "questionnaire_version")

    questionnaire_id: Mapped[uuid.UUID] = cascade_key("questionnaire.id")
    number: Mapped[int] = mapped_column(Integer)
    #: the validated JSON definition, exactly as loaded
    definition_json: Mapped[str] = mapped_column(Text)
    #: SHA-256 of the canonical JSON, to notice a changed library file
    checksum: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = stamped()
    #: when it became assignable; None for a draft saved in the builder (set once, never undone)
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")

    @property
    def definition(self) -> Definition:
        """The parsed definition with its sections and lookups (parsed once per process)."""
        return parsed_definition(self)


#: parsed definitions by (version id, checksum); versions are immutable, so entries never go stale
_PARSED: dict[tuple[uuid.UUID, str], Definition] = {}
#: a worker process keeps at most this many parsed definitions (a library has a few dozen)
_PARSED_MAX = 512


def parsed_definition(version: QuestionnaireVersion) -> Definition:
    """The parsed definition of an immutable version, cached per process by id and checksum.

    A version never changes (see below), so every request of a worker process can share
    one parsed copy instead of parsing the JSON again; callers must not mutate it. The key
    holds the checksum too, so even a row rewritten outside the application is never served
    stale. A query may defer ``definition_json``: it is then read only on a cache miss.
    """
    if version.id is None:  # not flushed yet: nothing stable to key on
        return Definition(json.loads(version.definition_json))
    key = (version.id, version.checksum)
    found = _PARSED.get(key)
    if found is None:
        found = Definition(json.loads(version.definition_json))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = found
    return found


class VersionRow:
    """A version's id and checksum, for a page that reads plain columns: its JSON text is read
    only when this process has not parsed that version yet (``parsed_definition``)."""

    __slots__ = ("id", "checksum")

    def __init__(self, version_id: uuid.UUID, checksum: str):
        self.id = version_id
        self.checksum = checksum

    @property
    def definition_json(self) -> str:
        return db.session.scalar(_DEFINITION_JSON, {"version_id": self.id})

    @property
    def definition(self) -> Definition:
        return parsed_definition(self)


_DEFINITION_JSON = select(QuestionnaireVersion.__table__.c.definition_json).where(
    QuestionnaireVersion.__table__.c.id == bindparam("version_id")
)


@event.listens_for(QuestionnaireVersion, "before_update")
def _versions_are_immutable(mapper, connection, target) -> None:
    # Answers are always read against the version they were given for: never rewrite one.
    # The one change allowed is publishing a draft, once: its definition stays as it was.
    state = inspect(target)
    changed = {a.key for a in state.attrs if a.history.has_changes()}
    before = state.attrs.published_at.history.deleted
    if changed == {"published_at"} and before in ([], [None]) and target.published_at:
        return
    raise RuntimeError("questionnaire versions are immutable; create a new version instead")


class Assignment(UUIDPrimaryKey, Timestamps, db.Model):
    """A questionnaire version given to some partners of a case."""

    __tablename__ = "assignment"
    __table_args__ = (CheckConstraint("link_ttl_days BETWEEN 1 AND 365", name="ttl_range"),)

    case_id: Mapped[uuid.UUID] = cascade_key("case.id")
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("questionnaire_version.id", ondelete="RESTRICT"), index=True
    )
    due_on: Mapped[date | None] = mapped_column(Date)
    instructions = encrypted(nullable=True)
    instructions_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    link_ttl_days: Mapped[int] = mapped_column(Integer, default=30)
    #: the counselor closed it for editing (partners can still read their answers)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    #: when the counselor released the shared view to the partners (None: not released)
    released_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: link_ids of the sections the counselor chose (None: every section of the version)
    sections: Mapped[list[str] | None] = mapped_column(JSON)

    version: Mapped[QuestionnaireVersion] = relationship()
    case = relationship("Case")
    links: Mapped[list[Link]] = children(back_populates="assignment")
    responses: Mapped[list[Response]] = children(back_populates="assignment")

    @property
    def definition(self) -> Definition:
        """The version's definition with only the chosen sections: the portal, the comparison
        and matching work on this, never on sections the counselor left out."""
        return self.version.definition.only(self.sections)

    @property
    def kind(self) -> str:
        """The questionnaire's kind (intake, exercise, check-in, …)."""
        return self.version.questionnaire.kind


class SubmittedForm(db.Model):
    """An assign form that was acted on, by the idempotency key it carried: a refreshed,
    double-clicked or doubled form finds its key taken and creates nothing twice."""

    __tablename__ = "submitted_form"

    #: the random key the form was rendered with (32 hex characters)
    request_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    counselor_id: Mapped[uuid.UUID] = cascade_key("counselor.id")
    created_at: Mapped[datetime] = stamped()


class Link(UUIDPrimaryKey, db.Model):
    """A partner's personal link to one assignment (before homes). Only a hash of its token is
    kept. It opens a portal session for its partner until it expires; the PIN lives on the
    partner's home (counselor.cases.models.PartnerHome)."""

    __tablename__ = "link"

    assignment_id: Mapped[uuid.UUID] = cascade_key("assignment.id")
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    #: SHA-256 (hex) of the token in the URL; the token itself is shown once and never stored
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = stamped()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    assignment: Mapped[Assignment] = relationship(back_populates="links")
    partner = relationship("Partner")


class Response(UUIDPrimaryKey, db.Model):
    """One partner's answers to one assignment, draft or submitted, encrypted as a whole."""

    __tablename__ = "response"
    __table_args__ = (
        UniqueConstraint("assignment_id", "partner_id", name="uq_response_assignment_partner"),
        one_of("status", RESPONSE_STATUSES),
        # the responses whose counselor is still to be told of their submit, oldest first:
        # what the notice sweep claims (counselor.mail.submitted), a few entries at most
        Index(
            "ix_response_notice_due",
            "submitted_at",
            # as each dialect writes the sweep's condition: SQLite's planner uses a partial
            # index only for a query that has its very condition
            sqlite_where=text("notice_due = 1"),
            postgresql_where=text("notice_due"),
        ),
    )

    #: no index of its own: uq_response_assignment_partner leads with it (migration 0028)
    assignment_id: Mapped[uuid.UUID] = cascade_key("assignment.id", index=False)
    partner_id: Mapped[uuid.UUID] = cascade_key("partner.id")
    status: Mapped[str] = mapped_column(String(16), default="not_opened")
    #: JSON object {link_id: answer}, sealed
    answers_json = encrypted(nullable=True)
    answers_json_sealed: Mapped[bytes | None] = sealed_column(nullable=True)
    #: increases with every save; a save names the revision it started from
    revision: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    saved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the counselor is still to be told of this submit: set by the submit's own UPDATE,
    #: cleared by the worker's sweep that tells them (counselor.mail.submitted) or by a reopen
    notice_due: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    assignment: Mapped[Assignment] = relationship(back_populates="responses")
    partner = relationship("Partner")

    # Every UPDATE checks and bumps the revision: two tabs saving at once cannot both win.
    __mapper_args__ = {"version_id_col": revision}

    @property
    def answers(self) -> dict:
        """The decrypted answers mapping."""
        return self.load_answers(self.answers_json)

    @staticmethod
    def load_answers(text: str | bytes | None) -> dict:
        """The answers mapping of ``answers_json``'s text (``{}`` for none), parsed whole."""
        return StoredAnswers(text).read()

    @answers.setter
    def answers(self, value: dict) -> None:
        self.answers_json = self.dump_answers(value)

    @staticmethod
    def dump_answers(value: dict) -> str:
        """The text of an answers mapping as ``answers_json`` stores it (sealed): a first line
        indexing the parts (``engine.answer_part``), a JSON list of [part, start, end] giving
        the bytes of each part's members in the second line, the answers as one JSON object
        part by part (UTF-8, keys sorted within a part, no spaces): a page of one section
        parses its part only. No float that is not a number passes (orjson writes it null)."""
        by_part: dict[str, dict] = {}
        for lid, answer in value.items():
            by_part.setdefault(answer_part(lid), {})[lid] = answer
        index, members, at = [], [], 1  # after the object's "{"
        for name in sorted(by_part):
            inner = orjson.dumps(by_part[name], option=orjson.OPT_SORT_KEYS)[1:-1]
            index.append((name, at, at + len(inner)))
            members.append(inner)
            at += len(inner) + 1  # and the comma
        text = b"%b\n{%b}" % (orjson.dumps(index), b",".join(members))
        if b"null" in text and values.non_finite(value):
            # orjson writes NaN and the infinities as null (read back as unanswered): refuse
            # them as the standard library's allow_nan=False did
            raise ValueError("an answer that is not a finite number cannot be stored")
        return text.decode()


#: PostgreSQL: sealed answers go out of line uncompressed (ciphertext; migration 0026 says why)
RESPONSE_STORAGE = "ALTER TABLE response ALTER COLUMN answers_json_sealed SET STORAGE EXTERNAL"
_STORED_AS = DDL(RESPONSE_STORAGE).execute_if(dialect="postgresql")
event.listen(Response.__table__, "after_create", _STORED_AS)


class StoredAnswers:
    """A response's answers as ``answers_json``'s text holds them (``Response.dump_answers``),
    parsed a part (``engine.answer_part``) at a time, when first asked for: the one way stored
    answers are read. Answers stored before they were kept by part are one JSON object,
    parsed whole. The text may be given as its UTF-8 bytes (``opener(as_bytes=True)``): the
    parser reads bytes without decoding them first."""

    __slots__ = ("answers", "_body", "_index", "_unread")

    def __init__(self, text: str | bytes | None) -> None:
        #: the answers parsed so far, by link id
        self.answers: dict = {}
        #: where each part not parsed yet lies in ``_body`` (None: the index is not read yet)
        self._unread: dict[str, tuple[int, int]] | None = {}
        self._body = self._index = memoryview(b"")
        if not text:
            return
        raw = text.encode() if isinstance(text, str) else text
        if raw[:1] != b"[":  # stored before answers were kept by part
            self.answers = values.parsed_answers(raw)
            return
        end = raw.index(b"\n")
        whole = memoryview(raw)
        self._index, self._body, self._unread = whole[:end], whole[end + 1 :], None

    def read(self, parts: Collection[str] | None = None) -> dict:
        """The answers, with those of ``parts`` (all for None) parsed: it may hold more, the
        parts read before (``engine.parts_read`` names what some sections' items read)."""
        unread = self._unread
        if unread is None:
            if parts is None:  # nothing read yet: the object whole, without its index
                self._unread = {}
                self.answers = values.parsed_answers(self._body)
                return self.answers
            unread = self._unread = {name: (a, b) for name, a, b in orjson.loads(self._index)}
        for name in list(unread) if parts is None else parts:
            span = unread.pop(name, None)
            if span is not None:
                self.answers.update(values.parsed_answers(b"{%b}" % self._body[span[0] : span[1]]))
        return self.answers

    def read_of(self, link_ids: Collection) -> dict:
        """``read`` of the parts holding these link ids' answers, or of all in one parse when
        they may be most of the parts (a part's name may hold the separator counted too)."""
        count = self._index.tobytes().count(b"],[") + 1  # about how many parts there are
        if len(link_ids) * 2 >= count:  # the parts named may be most
            return self.read()
        parts = {answer_part(lid) for lid in link_ids if isinstance(lid, str)}
        return self.read(parts if len(parts) * 2 < count else None)

    def changed(self, clean: dict) -> str | None:
        """The stored text (``Response.dump_answers``'s) of these answers with the clean
        changes ``clean`` applied (None clears an answer), or None when they change nothing:
        a phone sends every answer of its section at each save, changed or not. A value of
        another type (``1`` for ``1.0``) is a change, though Python calls the two equal; a
        value equal to the stored one is no change and keeps its stored text.

        Text kept by part (read or not yet) is written again only where it changed
        (``_spliced``): the parts that hold a changed answer are encoded again, the others'
        bytes copied as they are, so a save that changes one answer of thirty encodes one."""
        if self._index:  # kept by part: its bytes are still there to copy
            return self._spliced(clean)
        merged = dict(self.read())
        same = True
        for lid, value in clean.items():
            if value is None:
                if merged.pop(lid, _ABSENT) is not _ABSENT:
                    same = False
                continue
            if same:
                was = merged.get(lid)
                same = type(was) is type(value) and was == value
            merged[lid] = value
        return None if same else Response.dump_answers(merged)

    def _spliced(self, clean: dict) -> str | None:
        """``changed`` of text kept by part: the same text ``Response.dump_answers`` writes
        of the merged answers (its parts in order of name, each one's members sorted, no
        spaces), made by encoding only the parts a change names and copying every other
        part's bytes from the stored text (a run of parts that lie next to each other in one
        piece), their index entries moved by what the text before them grew or shrank. Only
        the parts the changes name are read (``read_of``)."""
        stored = self.read_of(clean)  # reads the index too when only some parts are parsed
        touched: dict[str, list[str]] = {}  # changed part: its changed answers
        for lid, value in clean.items():
            was = stored.get(lid, _ABSENT)
            if value is None:
                if was is _ABSENT:
                    continue
            elif type(was) is type(value) and was == value:
                continue
            touched.setdefault(answer_part(lid), []).append(lid)
        if not touched:
            return None
        index = orjson.loads(self._index)  # [[part, start, end], …] in order of part
        written = _assembled(index, touched, clean, self._body)
        if written is None:  # a part that was not there: put in its place among the others
            index += [[name, None, None] for name in touched.keys() - {e[0] for e in index}]
            written = _assembled(sorted(index, key=itemgetter(0)), touched, clean, self._body)
        return written


def _assembled(index: list, touched: dict, clean: dict, body: memoryview) -> str | None:
    """``StoredAnswers._spliced``'s text: the parts of ``index`` (``[part, start, end]``, start
    None for a part not stored yet) in its order, those of ``touched`` made again from their
    stored answers and ``clean``'s changes, the others' bytes copied from ``body``; None when
    ``touched`` names a part ``index`` does not hold."""
    out_index, chunks, at, found = [], [], 1, 0  # after the object's "{"
    run = None  # the unchanged parts being copied: [first start, last end]
    for entry in index:
        name, start, end = entry
        changes = touched.get(name)
        if changes is None:  # unchanged: its bytes as they are
            if run is not None and start == run[1] + 1:  # next to the run, a comma between
                run[1] = end
            else:
                if run is not None:
                    chunks.append(body[run[0] : run[1]])
                run = [start, end]
            out_index.append(entry if start == at else (name, at, at + end - start))
            at += end - start + 1
            continue
        found += 1
        if run is not None:
            chunks.append(body[run[0] : run[1]])
            run = None
        # the part's answers, every change of its own applied (as ``merge`` does)
        part = {} if start is None else values.parsed_answers(b"{%b}" % body[start:end])
        for lid in [*part, *changes]:
            value = clean.get(lid, _ABSENT)
            if value is None:
                part.pop(lid, None)
            elif value is not _ABSENT:
                part[lid] = value
        if not part:  # its last answer cleared: the part goes
            continue
        inner = orjson.dumps(part, option=orjson.OPT_SORT_KEYS)[1:-1]
        if b"null" in inner and values.non_finite(part):
            # as ``Response.dump_answers`` refuses them
            raise ValueError("an answer that is not a finite number cannot be stored")
        out_index.append((name, at, at + len(inner)))
        chunks.append(inner)
        at += len(inner) + 1  # and the comma
    if found < len(touched):
        return None
    if run is not None:
        chunks.append(body[run[0] : run[1]])
    return (b"%b\n{%b}" % (orjson.dumps(out_index), b",".join(chunks))).decode()


#: no answer (``StoredAnswers.changed``: an answer cleared that was never given)
_ABSENT = object()
