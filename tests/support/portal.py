"""Partners in the portal, through HTTP as a phone would: open the personal link, autosave
JSON with the portal CSRF token (the section page's ``data-csrf``), submit the review form."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select

from counselor.extensions import db


def portal_csrf(page: str) -> str:
    """The portal's own CSRF token from a portal page."""
    m = re.search(r'data-csrf="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert m, "no portal CSRF token on page"
    return m.group(1)


def revision_of(page: str) -> int:
    """The response revision a portal form starts from."""
    m = re.search(r'name="revision" value="(\d+)"', page)
    assert m, "no revision on page"
    return int(m.group(1))


def landing_csrf(page: str) -> str:
    """The CSRF token of the landing page's button."""
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, "no button form on the landing page"
    return m.group(1)


def open_portal(client, token: str, **request_kwargs):
    """Open a personal link as a person does: GET the landing page, press its button.

    ``token`` is a per-assignment link's token, or a path such as ``/h/<token>`` (a home
    link) or ``/in/<token>`` (a mail's sign-in link). Returns the POST's response, whatever it
    is (a test of a refused link checks it); see ``open_link`` for a link that must work.
    """
    path = token if token.startswith("/") else f"/l/{token}"
    page = client.get(path, **request_kwargs)
    assert page.status_code == 200, page.status_code
    return client.post(
        path,
        data={"csrf_token": landing_csrf(page.get_data(as_text=True))},
        **request_kwargs,
    )


def section(client, number: int):
    """GET a portal section; returns (html, csrf, revision)."""
    r = client.get(f"/p/s/{number}")
    assert r.status_code == 200, r.status_code
    page = r.get_data(as_text=True)
    return page, portal_csrf(page), revision_of(page)


def autosave(client, csrf: str, revision, answers, **kw):
    """POST an autosave as the section page's script does; returns the response."""
    return client.post(
        "/p/autosave",
        data=json.dumps({"revision": revision, "answers": answers}),
        content_type="application/json",
        headers={"X-CSRF-Token": csrf},
        **kw,
    )


@dataclass
class PartnerBrowser:
    """A partner's phone: a test client holding the portal session of one link.

    ``landing`` is the response of pressing the landing page's button.
    """

    name: str
    client: object
    landing: object = None

    def state(self) -> tuple[str, int]:
        """(portal CSRF token, current revision) read from the first section page."""
        _, csrf, revision = section(self.client, 1)
        return csrf, revision

    def autosave(self, answers: dict, *, expect: int = 200):
        csrf, revision = self.state()
        r = autosave(self.client, csrf, revision, answers)
        assert r.status_code == expect, r.get_data(as_text=True)[:1000]
        return r

    def submit(self, *, expect: int = 302):
        r = self.client.get("/p/review")
        assert r.status_code == 200
        page = r.get_data(as_text=True)
        r = self.client.post(
            "/p/submit", data={"csrf_token": portal_csrf(page), "revision": revision_of(page)}
        )
        assert r.status_code == expect, r.get_data(as_text=True)[:1000]
        return r

    def answer_and_submit(self, answers: dict):
        self.autosave(answers)
        return self.submit()

    def csrf(self) -> str:
        return self.state()[0]

    def get(self, path: str) -> str:
        r = self.client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.get_data(as_text=True)

    def every_page(self, defn) -> dict[str, str]:
        """The HTML of every page a partner can GET: overview, each section, review, shared
        (and each section's page of a long shared page)."""
        paths = [
            "/p/",
            *(f"/p/s/{n}" for n in range(1, len(defn.sections) + 1)),
            "/p/review",
            "/p/shared",
        ]
        pages = {p: self.get(p) for p in paths}
        for path in re.findall(r'href="(/p/shared\?section=\d+)"', pages["/p/shared"]):
            pages[path] = self.get(path)
        return pages


def open_link(client, token: str, *, name: str = "partner") -> PartnerBrowser:
    """``client`` opens a personal link; asserts the landing swapped it for a portal session.

    Returns the browser as a PartnerBrowser (``name`` is only for the test's messages). A home
    link (``/h/<token>``) leads to the partner's home; the partner then taps their newest
    homework, as a person would, so the short URLs (/p/s/1, …) act on it.
    """
    r = open_portal(client, token)
    assert r.status_code == 302, r.status_code
    if token.startswith("/h/"):
        assert r.headers["Location"].endswith("/p/home")
        home = client.get("/p/home").get_data(as_text=True)
        newest = re.search(r'href="(/p/a/[0-9a-f\-]+/)"', home)
        assert newest, "no homework on the home"
        if client.get(newest.group(1)).status_code == 302:  # an intake asks for consent first
            acknowledge_consent(client, name)
        assert client.get(newest.group(1)).status_code == 200
        return PartnerBrowser(name, client, r)
    assert r.headers["Location"].endswith("/p/")
    if urlsplit(client.get("/p/").headers.get("Location", "")).path == "/p/consent":
        acknowledge_consent(client, name)
    return PartnerBrowser(name, client, r)


def acknowledge_consent(client, name: str = "partner"):
    """The partner reads the practice's consent text and agrees by typed name and today's
    date (what an intake asks first); returns the POST's response."""
    page = client.get("/p/consent").get_data(as_text=True)
    text_id = re.search(r'name="text_id" value="([^"]+)"', page)
    day = re.search(r'name="date" type="date" value="([^"]+)"', page)
    assert text_id and day, "no consent form on the page"
    r = client.post(
        "/p/consent",
        data={
            "csrf_token": portal_csrf(page),
            "text_id": text_id.group(1),
            "name": name,
            "date": day.group(1),
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)[:1000]
    return r


def response_of(assignment_id, partner_id):
    """The stored Response, read fresh from the database."""
    from counselor.questionnaires.models import Response

    db.session.expire_all()
    return db.session.scalar(
        select(Response).where(
            Response.assignment_id == assignment_id, Response.partner_id == partner_id
        )
    )
