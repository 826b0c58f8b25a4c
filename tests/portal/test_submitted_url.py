"""Where a submit goes next (``homework_routes._submitted_url``): the homework's start page
with ``?submitted=1``, exactly as ``url_for`` builds it, under any application root."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from flask import url_for

from counselor.portal import homework_routes


def test_the_submitted_url_is_url_for_s_under_any_root(app):
    for root in ("", "/practice", "/a/b"):
        for _ in range(2):  # built, then made from what was kept
            assignment_id = uuid.uuid4()
            ctx = SimpleNamespace(assignment=SimpleNamespace(id=assignment_id))
            path = f"/p/a/{assignment_id}/submit"
            with app.test_request_context(path, method="POST", base_url=f"http://h{root}"):
                expected = url_for("portal.overview", assignment_id=assignment_id, submitted=1)
                assert expected.startswith(f"{root}/p/a/{assignment_id}/")
                assert homework_routes._submitted_url(ctx) == expected
    # made once per root, from then on without the router
    assert set(app.extensions["counselor.submitted_url"]) == {"", "/practice", "/a/b"}
