"""Encryption at rest (promise 4): sealed text is bound to its place; keys rotate without loss."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import select, update

from counselor import create_app
from counselor.cases.models import Case, CounselingSession, Partner
from counselor.config import new_encryption_key
from counselor.core.crypto import (
    REGISTRY,
    DecryptionError,
    KeyRing,
    associated_data,
    row_id_records,
)
from counselor.extensions import db
from tests.support import make_account, new_case

AAD = associated_data("partner", "display_name", uuid.UUID(int=1))


def test_keyring_round_trip_and_binding():
    """What one key seals it opens again, and only for the same table, column and row."""
    ring = KeyRing(new_encryption_key())
    for text in ("Sam Rivera", "", "Ünïcødé ✓ — 🌶", "x" * 100_000):
        assert ring.decrypt(ring.encrypt(text, AAD), AAD) == text
    blob = ring.encrypt("Sam Rivera", AAD)
    assert b"Sam Rivera" not in blob
    assert ring.encrypt("Sam Rivera", AAD) != blob, "a fresh nonce per encryption"
    for other in (
        associated_data("partner", "display_name", uuid.UUID(int=2)),
        associated_data("partner", "pronouns", uuid.UUID(int=1)),
        associated_data("case", "display_name", uuid.UUID(int=1)),
    ):
        with pytest.raises(DecryptionError):
            ring.decrypt(blob, other)
    tampered = bytearray(blob)
    tampered[-1] ^= 1
    with pytest.raises(DecryptionError):
        ring.decrypt(bytes(tampered), AAD)
    with pytest.raises(DecryptionError):
        KeyRing(new_encryption_key()).decrypt(blob, AAD)  # a key that is not configured
    with pytest.raises(DecryptionError):
        ring.decrypt(b"Sam Rivera", AAD)  # plaintext where ciphertext belongs


def test_many_values_open_in_one_call_and_any_misplaced_one_fails_it():
    """A page's values opened together (``open_all``) are what one by one opens, and a value
    tampered with, sealed for another row or under an unknown key fails the whole call."""
    ring = KeyRing(new_encryption_key())
    prefix = associated_data("partner", "display_name", "").decode()
    ids = [str(uuid.UUID(int=n)) for n in range(1, 5)]
    texts = ["Sam <Rivera>", "", "Ünïcødé ✓", "Alex, Novak"]
    blobs = [
        ring.encrypt(text, f"{prefix}{row}".encode()) for text, row in zip(texts, ids, strict=True)
    ]
    assert ring.open_all(prefix, False, [*blobs, None], [*ids, ids[0]]) == [*texts, None]
    assert ring.open_all(prefix, True, blobs[:1], ids[:1]) == [texts[0].encode()]
    tampered = bytearray(blobs[2])
    tampered[-1] ^= 1
    stranger = KeyRing(new_encryption_key()).encrypt("Kim", f"{prefix}{ids[2]}".encode())
    for bad in ([blobs[0], blobs[2], blobs[1]], [blobs[0], bytes(tampered)], [stranger]):
        with pytest.raises(DecryptionError):
            ring.open_all(prefix, False, bad, ids[: len(bad)])


def test_ids_packed_in_one_text_open_what_a_list_of_ids_opens():
    """A page's row ids handed over as one text (``open_packed``), 32 hex digits or 36
    characters each, bind each value to its own row, as a list of ids does."""
    ring = KeyRing(new_encryption_key())
    prefix = associated_data("partner", "display_name", "").decode()
    rows = [uuid.uuid4() for _ in range(7)]
    texts = ["Sam <Rivera>", "", "Ünïcødé ✓", "Alex, Novak", "Kim", "Jo", "Ren"]
    blobs = [ring.encrypt(t, f"{prefix}{r}".encode()) for t, r in zip(texts, rows, strict=True)]
    for packed in ("".join(r.hex for r in rows), "".join(map(str, rows))):
        assert ring.open_packed(prefix, False, blobs, packed) == texts
        assert ring.open_packed(prefix, True, blobs[:1], packed[: len(packed) // 7]) == [
            texts[0].encode()
        ]
        swapped = [blobs[1], blobs[0], *blobs[2:]]
        with pytest.raises(DecryptionError):
            ring.open_packed(prefix, False, swapped, packed)
    assert ring.open_packed(prefix, False, [], "") == []
    assert row_id_records("".join(r.hex for r in rows), 7, b"p:").split(b"\n") == [
        f"p:{r}".encode() for r in rows
    ]
    for wrong in (rows[0].hex[:-1], rows[0].hex + "0"):
        with pytest.raises(ValueError):
            row_id_records(wrong, 1)


def test_every_key_decrypts_and_the_first_encrypts():
    k1, k2 = new_encryption_key(), new_encryption_key()
    old = KeyRing(k1).encrypt("before rotation", AAD)
    ring = KeyRing(f"{k2}, {k1}")
    assert ring.decrypt(old, AAD) == "before rotation"
    assert (
        ring.key_id_of(ring.encrypt("after", AAD))
        == KeyRing(k2).primary_id
        != KeyRing(k1).primary_id
    )


def _copy(table, column: str, src_id, dst_id, dst_column: str | None = None) -> None:
    """Copy the sealed bytes of one cell onto another, the way someone with database access
    (or a bug) could."""
    dst_column = dst_column or column
    value = select(table.c[column]).where(table.c.id == src_id).scalar_subquery()
    db.session.execute(update(table).where(table.c.id == dst_id).values({dst_column: value}))
    db.session.commit()
    db.session.expire_all()


def test_ciphertext_copied_to_another_row_fails_to_decrypt(app, counselor_a):
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
    sam, alex = case.partners
    _copy(Partner.__table__, "display_name_sealed", sam.id, alex.id)
    assert db.session.get(Partner, sam.id).display_name == "Sam Rivera"
    with pytest.raises(DecryptionError):
        _ = db.session.get(Partner, alex.id).display_name


def test_ciphertext_copied_to_another_column_fails_to_decrypt(app, counselor_a):
    case = new_case(counselor_a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
    sam = case.partners[0]
    _copy(Partner.__table__, "display_name_sealed", sam.id, sam.id, dst_column="pronouns_sealed")
    with pytest.raises(DecryptionError):
        _ = db.session.get(Partner, sam.id).pronouns


def test_ciphertext_copied_to_another_table_fails_to_decrypt(app, counselor_a):
    """A private note moved onto another case's label is not shown as that label."""
    from datetime import date, time

    from counselor.cases.services import save_session

    case = new_case(counselor_a, "Sam & Alex")
    session = save_session(
        case,
        {
            "date": date(2026, 1, 5),
            "time": time(9, 0),
            "duration_minutes": 50,
            "notes": "private note",
        },
    )
    db.session.commit()
    db.session.execute(
        update(Case.__table__)
        .where(Case.__table__.c.id == case.id)
        .values(
            label_sealed=select(CounselingSession.__table__.c.notes_sealed)
            .where(CounselingSession.__table__.c.id == session.id)
            .scalar_subquery()
        )
    )
    db.session.commit()
    db.session.expire_all()
    with pytest.raises(DecryptionError):
        _ = db.session.get(Case, case.id).label


def _read_everything() -> int:
    """Decrypt every sealed value in the database; returns how many were read."""
    read = 0
    db.session.expire_all()
    for model, name in REGISTRY:
        for obj in db.session.scalars(select(model)):
            if getattr(obj, f"{name}_sealed") is not None:
                assert isinstance(getattr(obj, name), (str, bytes))
                read += 1
    return read


def test_key_rotation_keeps_every_row_readable(make_app):
    k1, k2 = new_encryption_key(), new_encryption_key()
    first = make_app(COUNSELOR_ENCRYPTION_KEYS=k1)
    with first.app_context():
        from datetime import date, time

        from counselor.cases.services import save_session

        a = make_account("a@example.org", "Counselor A")
        case = new_case(a, "Sam & Alex", ("Sam Rivera", "Alex Novak"))
        case.partners[0].pronouns = "they/them"
        save_session(
            case,
            {
                "date": date(2026, 1, 5),
                "time": time(9, 0),
                "duration_minutes": 50,
                "agenda": "agenda",
                "notes": "notes",
                "next_steps": "steps",
            },
        )
        new_case(a, "Maya (individual)", ("Maya Lindqvist",))
        db.session.commit()
        case_id = case.id
        sealed = _read_everything()
    assert sealed == 2 + 3 + 1 + 3  # labels, names, one pronoun, session texts

    only_new = make_app(COUNSELOR_ENCRYPTION_KEYS=k2)
    with only_new.app_context(), pytest.raises(DecryptionError):
        _read_everything()  # without the old key nothing old can be read: rotation matters

    both = make_app(COUNSELOR_ENCRYPTION_KEYS=f"{k2},{k1}")
    with both.app_context():
        runner = both.test_cli_runner()
        result = runner.invoke(args=["keys", "rotate"])
        assert result.exit_code == 0, result.output
        assert (
            f"Checked {sealed} encrypted values; re-encrypted {sealed} under the first key."
            in result.output
        )
        again = runner.invoke(args=["keys", "rotate"])
        assert again.exit_code == 0, again.output
        assert (
            f"Checked {sealed} encrypted values; re-encrypted 0 under the first key."
            in again.output
        )

    with only_new.app_context():
        assert _read_everything() == sealed
        case = db.session.get(Case, case_id)
        assert case.label == "Sam & Alex"
        assert [p.display_name for p in case.partners] == ["Sam Rivera", "Alex Novak"]
        assert case.partners[0].pronouns == "they/them"
        assert case.sessions[0].notes == "notes"


def test_keys_generate_prints_a_usable_key(runner):
    result = runner.invoke(args=["keys", "generate"])
    assert result.exit_code == 0
    key = result.output.strip()
    assert len(base64.urlsafe_b64decode(key)) == 32
    assert set(key) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
    assert KeyRing(key).decrypt(KeyRing(key).encrypt("ok", AAD), AAD) == "ok"
    assert runner.invoke(args=["keys", "generate"]).output.strip() != key


VALID_KEY = base64.urlsafe_b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    "keys, words",
    [
        ("not-a-key", "key #1 in COUNSELOR_ENCRYPTION_KEYS is not base64"),
        # a valid key (fixed: pytest-xdist needs every worker to collect the same test ids)
        (VALID_KEY + ",not-a-key", "key #2 in COUNSELOR_ENCRYPTION_KEYS is not base64"),
        (base64.urlsafe_b64encode(b"short").decode(), "must be 32 bytes"),
        ("", "holds no key"),
        (" , ", "holds no key"),
    ],
)
def test_malformed_key_stops_start_up_with_one_sentence(base_config, capsys, keys, words):
    with pytest.raises(SystemExit) as exit_info:
        create_app({**base_config, "COUNSELOR_ENCRYPTION_KEYS": keys})
    assert exit_info.value.code not in (0, None)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "COUNSELOR_ENCRYPTION_KEYS" in err and words in err, err


def test_rotate_after_the_old_key_was_dropped_says_what_to_do(make_app, counselor_a):
    """Dropping the old key before rotating must not end in a trace."""
    from counselor.config import new_encryption_key
    from tests.support import new_case

    new_case(counselor_a, "Rotation case", ("Robin",))
    app = make_app(COUNSELOR_ENCRYPTION_KEYS=new_encryption_key())
    with app.app_context():  # Flask's CLI reuses an app context that is already pushed
        result = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 1, result.output
    assert "no longer in COUNSELOR_ENCRYPTION_KEYS" in result.output
    assert "Traceback" not in result.output


def test_key_rotation_rewraps_agreements_and_consent_that_never_change(make_app):
    """Published agreement versions, acknowledgements, pauses and consent rows refuse any
    change but one: their ciphertext re-encrypted under the new key, words unchanged."""
    from counselor.agreements import queries as agreement_queries
    from counselor.agreements import services as agreements
    from counselor.agreements.models import AgreementAck, AgreementVersion, ClausePause
    from counselor.consent import services as consent
    from counselor.consent.models import ConsentAck
    from counselor.core.crypto import rotate_all
    from tests.support import practice_today
    from tests.support.agreements import published_agreement

    k1, k2 = new_encryption_key(), new_encryption_key()
    with make_app(COUNSELOR_ENCRYPTION_KEYS=k1).app_context():
        case = new_case(make_account("a@example.org", "Counselor A"))
        sam = case.partners[0]
        agreement = published_agreement(case, [{"kind": "free", "text": "Slowly"}])
        version = agreement_queries.published(agreement)[0]
        agreements.answer(agreement, sam, version.id, "agree", "A note")
        agreements.answer(agreement, case.partners[1], version.id, "agree", None)
        paused = agreements.pause(agreement, sam, version.clauses[0]["key"])
        agreements.note_pause(agreement, sam, paused.id, "Pause note")
        consent.acknowledge(sam, consent.current_text().id, "Sam Typed", practice_today())
        db.session.commit()
        sam_id = sam.id
    with make_app(COUNSELOR_ENCRYPTION_KEYS=f"{k2},{k1}").app_context():
        checked, rewritten = rotate_all(db.session)
        db.session.commit()
        assert rewritten == checked
    with make_app(COUNSELOR_ENCRYPTION_KEYS=k2).app_context():
        db.session.expire_all()
        assert "Slowly" in db.session.scalar(select(AgreementVersion)).content_json
        sams = select(AgreementAck).where(AgreementAck.partner_id == sam_id)
        assert db.session.scalar(sams).note == "A note"
        assert db.session.scalar(select(ClausePause)).note == "Pause note"
        assert db.session.scalar(select(ConsentAck)).typed_name == "Sam Typed"
