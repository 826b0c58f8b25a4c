"""Personal links: token strength, hash-only storage, expiry, revoke and reissue, probes.

The landing, its session and cookies are in ``test_link_sessions.py``.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, text, update

from counselor import _RedactLinkTokens
from counselor.core.models import utcnow
from counselor.core.tokens import new_token, token_hash
from counselor.extensions import db
from counselor.portal import context as portal_context
from counselor.questionnaires import services
from counselor.questionnaires.models import Link
from tests.support import (
    assign,
    assign_http,
    open_link,
    open_portal,
    partner_named,
    questionnaire,
)

TOKEN_RE = re.compile(r"^[A-Za-z0-9_\-]+$")


# ---- token properties ----


def test_issued_link_carries_at_least_256_random_bits(client_a, couple):
    q = questionnaire("desires-boundaries")
    _, homes = assign_http(client_a, couple, q.id)  # the home links the assign page gives
    _, links = assign(couple, q.slug)  # per-assignment links, as before homes
    assert set(homes) == set(links) == {"Sam Rivera", "Alex Novak"}
    tokens = {
        f"{n} {kind}": t.removeprefix("/h/")
        for kind, d in (("home", homes), ("link", links))
        for n, t in d.items()
    }
    for token in tokens.values():
        assert TOKEN_RE.match(token)
        # measure what was issued: the bytes the token encodes, and nothing else around them
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        assert base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == token
        assert len(raw) * 8 >= 256, f"an issued token carries only {len(raw) * 8} bits"
    assert len(set(tokens.values())) == len(tokens)


def test_100000_tokens_have_no_duplicates():
    n = 100_000
    tokens, hashes = set(), set()
    for _ in range(n):
        token, digest = new_token(services.TOKEN_BYTES)
        tokens.add(token)
        hashes.add(digest)
    assert min(len(t) for t in tokens) >= 43
    # every character position varies: no constant prefix or suffix
    sample = list(tokens)[:2000]
    for pos in (0, 21, 41):  # the 43rd character carries only 4 bits
        assert len({t[pos] for t in sample}) > 40
    # character frequencies look uniform over the 64-symbol alphabet (a weak entropy check)
    counts: dict[str, int] = {}
    for t in sample:
        for ch in t[:42]:
            counts[ch] = counts.get(ch, 0) + 1
    expected = len(sample) * 42 / 64
    chi2 = sum(
        (counts.get(c, 0) - expected) ** 2 / expected
        for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    print(
        f"\ntokens generated: {n}, duplicate tokens: {n - len(tokens)}, "
        f"duplicate hashes: {n - len(hashes)}, chi2(63 df)={chi2:.1f}"
    )
    assert len(tokens) == n and len(hashes) == n
    assert chi2 < 140  # p << 1e-6 for a fair source


def _dump_database() -> str:
    """Every row of every table as text (bytes as hex and latin-1), for leak checks."""
    parts = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(table.select()):
                for value in row:
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        raw = bytes(value)
                        parts.append(raw.hex())
                        parts.append(raw.decode("latin-1"))
                    else:
                        parts.append(str(value))
    return "\n".join(parts)


def test_only_the_sha256_of_a_token_is_stored(app, client_a, couple):
    q = questionnaire("desires-boundaries")
    _, tokens = assign(couple, q.slug)
    partner = app.test_client()
    token = tokens["Sam Rivera"]
    open_link(partner, token)
    # reissue too: the new raw token must not be stored either
    from counselor.questionnaires.models import Assignment

    assignment = db.session.scalar(select(Assignment))
    r = client_a.post(
        f"/cases/{couple.id}/assignments/{assignment.id}/partners/{couple.partners[1].id}/reissue",
        follow_redirects=True,
    )
    assert r.status_code == 200
    new_token = re.search(r"/l/([A-Za-z0-9_\-]+)", r.get_data(as_text=True)).group(1)
    all_tokens = [*tokens.values(), new_token]

    dump = _dump_database()
    hashes = set(db.session.scalars(select(Link.token_hash)))
    for t in all_tokens:
        assert t not in dump
        assert token_hash(t) in hashes
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)

    url = db.engine.url
    if url.get_backend_name() == "sqlite" and url.database:
        db.session.commit()
        with db.engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(FULL)"))
        raw = b"".join(
            p.read_bytes() for p in Path(url.database).parent.glob(Path(url.database).name + "*")
        )
        for t in all_tokens:
            assert t.encode() not in raw


def test_logs_hold_no_raw_token(app, couple, caplog):
    _, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    caplog.set_level(logging.DEBUG)
    client = app.test_client()
    open_link(client, token)
    client.get("/p/")
    client.get(f"/l/{secrets.token_urlsafe(32)}")
    # an error inside the landing is logged by endpoint, never by path
    assert token not in caplog.text
    for record in caplog.records:
        assert token not in record.getMessage()


def test_werkzeug_and_gunicorn_log_lines_are_redacted(caplog):
    token = secrets.token_urlsafe(32)
    caplog.set_level(logging.INFO)
    werkzeug = logging.getLogger("werkzeug")
    gunicorn = logging.getLogger("gunicorn.access")
    assert any(isinstance(f, _RedactLinkTokens) for f in werkzeug.filters)
    assert any(isinstance(f, _RedactLinkTokens) for f in gunicorn.filters)
    # werkzeug's request line: '"%s" %s %s' with the request line as an argument
    werkzeug.info('"%s" %s %s', f"GET /l/{token} HTTP/1.1", "302", "-")
    werkzeug.info(f"direct message GET /l/{token}?x=1")
    # gunicorn's access log passes its atoms as one mapping
    gunicorn.info(
        '%(h)s "%(r)s" %(s)s %(U)s',
        {"h": "10.0.0.1", "r": f"GET /l/{token} HTTP/1.1", "s": "302", "U": f"/l/{token}"},
    )
    assert len(caplog.records) == 3
    assert token not in caplog.text
    assert caplog.text.count("/l/[redacted]") >= 4


# ---- expiry, revoke, reissue ----


def test_valid_one_second_before_expiry_and_refused_at_expiry(app, couple, monkeypatch):
    assignment, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    expires = (utcnow() + timedelta(days=3)).replace(microsecond=0)
    db.session.execute(
        update(Link).where(Link.token_hash == token_hash(token)).values(expires_at=expires)
    )
    db.session.commit()
    client = app.test_client()

    monkeypatch.setattr(portal_context, "utcnow", lambda: expires - timedelta(seconds=1))
    open_link(client, token)
    assert client.get("/p/").status_code == 200

    monkeypatch.setattr(portal_context, "utcnow", lambda: expires)
    assert client.get(f"/l/{token}").status_code == 404
    # the portal session made before expiry ends at expiry too
    assert client.get("/p/").status_code == 404


def test_expiry_in_the_database_is_honoured_without_a_fake_clock(app, couple):
    assignment, tokens = assign(couple)
    token = tokens["Sam Rivera"]
    client = app.test_client()
    open_link(client, token)
    db.session.execute(
        update(Link)
        .where(Link.token_hash == token_hash(token))
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert client.get("/p/").status_code == 404
    assert client.get(f"/l/{token}").status_code == 404


def test_link_lifetime_follows_the_assignment(app, client_a, couple):
    _, tokens = assign(couple, "debrief", ttl_days=2)
    link = db.session.scalar(
        select(Link).where(Link.token_hash == token_hash(tokens["Sam Rivera"]))
    )
    from counselor.core.models import aware

    assert (
        timedelta(days=2) - timedelta(minutes=1)
        < aware(link.expires_at) - utcnow()
        <= timedelta(days=2)
    )


def test_revoke_applies_at_the_next_request(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam = partner_named(couple, "Sam Rivera")
    partner = app.test_client()
    open_link(partner, tokens["Sam Rivera"])
    assert partner.get("/p/").status_code == 200
    r = client_a.post(f"/cases/{couple.id}/assignments/{assignment.id}/partners/{sam.id}/revoke")
    assert r.status_code == 302
    assert partner.get("/p/").status_code == 404
    assert partner.get("/p/s/1").status_code == 404
    assert app.test_client().get(f"/l/{tokens['Sam Rivera']}").status_code == 404
    # Alex is unaffected
    alex = app.test_client()
    open_link(alex, tokens["Alex Novak"])
    page = client_a.get(f"/cases/{couple.id}/assignments/{assignment.id}").get_data(as_text=True)
    assert "Revoked" in page


def test_reissue_ends_the_old_link_and_its_sessions_at_once(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam = partner_named(couple, "Sam Rivera")
    old = tokens["Sam Rivera"]
    phone = app.test_client()
    open_link(phone, old)
    page = phone.get("/p/s/1").get_data(as_text=True)
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    r = client_a.post(
        f"/cases/{couple.id}/assignments/{assignment.id}/partners/{sam.id}/reissue",
        follow_redirects=True,
    )
    assert r.status_code == 200
    new = re.search(r"/l/([A-Za-z0-9_\-]+)", r.get_data(as_text=True)).group(1)
    assert new != old
    assert "shown only now" in r.get_data(as_text=True)
    # the session made from the old link stops at once, for reads and for saves
    assert phone.get("/p/").status_code == 404
    r = phone.post(
        "/p/autosave", json={"revision": 0, "answers": {}}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 404
    assert app.test_client().get(f"/l/{old}").status_code == 404
    fresh = app.test_client()
    open_link(fresh, new)
    assert fresh.get("/p/").status_code == 200


# ---- misses look the same and are rate limited ----


def _not_found_body(client, path, addr="192.0.2.10"):
    r = client.get(path, environ_base={"REMOTE_ADDR": addr})
    assert r.status_code == 404
    return r.data


def test_unknown_expired_and_revoked_tokens_get_byte_identical_404s(app, client_a, couple):
    assignment, tokens = assign(couple)
    sam, alex = partner_named(couple, "Sam Rivera"), partner_named(couple, "Alex Novak")
    # Sam's link: revoked; Alex's link: expired
    services.revoke(assignment, sam.id)
    db.session.execute(
        update(Link)
        .where(Link.partner_id == alex.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    c = app.test_client()
    bodies = {
        "unknown": _not_found_body(c, f"/l/{secrets.token_urlsafe(32)}"),
        "short": _not_found_body(c, "/l/abc"),
        "long": _not_found_body(c, "/l/" + "A" * 500),
        "revoked": _not_found_body(c, f"/l/{tokens['Sam Rivera']}"),
        "expired": _not_found_body(c, f"/l/{tokens['Alex Novak']}"),
        "no session": _not_found_body(c, "/p/"),
    }
    assert len(set(bodies.values())) == 1, {k: len(v) for k, v in bodies.items()}
    assert b"This link is not available" in bodies["unknown"]
    assert tokens["Sam Rivera"].encode() not in bodies["revoked"]


def test_random_probes_miss_and_repeated_misses_are_rate_limited(app, couple):
    assignment, tokens = assign(couple)
    c = app.test_client()
    probes = hits = 0
    bodies = set()
    addresses = [f"198.51.100.{n}" for n in range(1, 11)]
    for addr in addresses:
        for _ in range(20):
            r = c.get(f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": addr})
            probes += 1
            hits += r.status_code != 404
            bodies.add(r.data)
        # the 21st miss from the same address within 10 minutes is refused
        r = c.get(f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": addr})
        assert r.status_code == 429, (addr, r.status_code)
        assert "Too many attempts" in r.get_data(as_text=True)
        assert r.headers["Cache-Control"] == "no-store"
    print(f"\nprobes: {probes}, hits: {hits}, distinct 404 bodies: {len(bodies)}")
    assert hits == 0 and len(bodies) == 1
    # another address is unaffected: it still reaches the landing and a real link works there
    assert (
        c.get(
            f"/l/{secrets.token_urlsafe(32)}", environ_base={"REMOTE_ADDR": "203.0.113.7"}
        ).status_code
        == 404
    )
    r = open_portal(c, tokens["Sam Rivera"], environ_base={"REMOTE_ADDR": "203.0.113.8"})
    assert r.status_code == 302


def test_successful_landings_do_not_count_as_misses(app, couple):
    _, tokens = assign(couple)
    c = app.test_client()
    for _ in range(25):
        r = open_portal(c, tokens["Sam Rivera"], environ_base={"REMOTE_ADDR": "192.0.2.99"})
        assert r.status_code == 302


def test_a_bad_token_gets_the_same_404_on_the_button_as_on_the_page(app, couple):
    c = app.test_client()
    bad = secrets.token_urlsafe(32)
    page = _not_found_body(c, f"/l/{bad}")
    r = c.post(f"/l/{bad}", data={"csrf_token": "x"}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert r.status_code == 404 and r.data == page
