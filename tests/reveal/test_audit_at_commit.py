"""A page's audit row is written with its commit: in the same transaction as the read it
records (a failed page leaves none), and on SQLite without holding the database's write lock
while the page renders (README, *Load benchmark*: the long pages' p99)."""

from __future__ import annotations

import sqlite3

import pytest
from flask import before_render_template
from sqlalchemy import func, select

from counselor.core import audit
from counselor.core.audit import AuditEvent
from counselor.extensions import db
from tests.reveal import test_release as _release_tests
from tests.reveal.test_release import inventory_answers

scenario = _release_tests.scenario  # Sam and Alex, the inventory


def _events(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def _submitted_preview(s) -> str:
    s.sam.answer_and_submit(inventory_answers("sam", s.c))
    s.alex.answer_and_submit(inventory_answers("alex", s.c))
    return f"{s.base}/partners/{s.partners['Sam Rivera'].id}/preview"


def test_a_committed_transaction_keeps_its_rows_and_a_rolled_back_one_drops_them(app):
    audit.record("test.kept", "case", "1")
    audit.record("test.kept", "case", "2")
    db.session.commit()
    audit.record("test.dropped", "case", "3")
    db.session.rollback()
    db.session.commit()  # a later commit does not write what the rollback dropped
    assert (_events("test.kept"), _events("test.dropped")) == (2, 0)


def test_a_preview_that_fails_to_render_leaves_no_row(scenario, app, monkeypatch):
    url = _submitted_preview(scenario)

    def broken(*args, **kwargs):
        raise RuntimeError("the page's render failed")

    monkeypatch.setattr("counselor.reveal.routes.render_template", broken)
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)
    before = _events("assignment.preview")
    assert scenario.counselor.get(url).status_code == 500
    assert _events("assignment.preview") == before
    monkeypatch.undo()
    assert scenario.counselor.get(url).status_code == 200
    assert _events("assignment.preview") == before + 1


def test_a_preview_renders_while_another_worker_can_write(scenario, app, database_url):
    if not database_url.startswith("sqlite:///"):
        pytest.skip("PostgreSQL has no database-wide write lock")
    url = _submitted_preview(scenario)
    seen: list[str] = []

    def another_writer(sender, template, context, **extra):
        other = sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")  # refused at once while the page holds the lock
            seen.append("could write")
            other.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            seen.append(str(error))
        finally:
            other.close()

    before = _events("assignment.preview")
    with before_render_template.connected_to(another_writer, app):
        assert scenario.counselor.get(url).status_code == 200
    assert seen and set(seen) == {"could write"}, seen
    assert _events("assignment.preview") == before + 1
