"""What every actor gets from every route: the policy table the route sweep
(tests/test_access.py) holds the app to.

Adding a route: add a row to ``POLICY`` below (a route missing from it fails
``tests/test_access.py::test_every_route_is_classified`` with the line to add).
"""

from __future__ import annotations

from dataclasses import dataclass

from tests.sweep import ACTORS, LOGIN, SIGNED_OUT, Redirect


@dataclass(frozen=True)
class Row:
    """What each actor gets, per method: ``own`` for A's objects in the URL; ``missing``
    for ids that name nothing (None for rules without ids); ``imported`` for A's own
    imported questionnaire where ``own`` names a built-in one. Tuples follow ``ACTORS``:
    (anonymous, counselor A, counselor B, admin, partner)."""

    own: dict[str, tuple]
    missing: dict[str, tuple] | None = None
    imported: dict[str, tuple] | None = None

    def table(self, variant: str) -> dict[str, tuple] | None:
        """The expectations for an object variant (``mixed`` ids are missing ones)."""
        return {"own": self.own, "imported": self.imported}.get(variant, self.missing)


def owned(**methods) -> Row:
    """A clinical page of one of A's objects: A gets ``methods[m]``, B the same 404 as a
    missing object, the admin 403, anonymous and the partner the login page."""
    return Row(
        own={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def caseload(**methods) -> Row:
    """A clinical page without ids: each counselor gets it for their own caseload."""
    return Row(own={m: (LOGIN, want, want, 403, LOGIN) for m, want in methods.items()})


def library(**methods) -> Row:
    """A questionnaire page: a built-in questionnaire is every counselor's, an imported one
    only its owner's (B gets the missing page for A's)."""
    return Row(
        own={m: (LOGIN, want, want, 403, LOGIN) for m, want in methods.items()},
        imported={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def builder(**methods) -> Row:
    """Editing a questionnaire: only its owner (A, for A's own); a built-in (``own``) or
    missing one is the missing page for every counselor."""
    return Row(
        own={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
        imported={m: (LOGIN, want, 404, 403, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 404, 404, 403, LOGIN) for m in methods},
    )


def admin_page(**methods) -> Row:
    """An account-management page: only the admin."""
    return Row(own={m: (LOGIN, 403, 403, want, LOGIN) for m, want in methods.items()})


def admin_object(**methods) -> Row:
    """An account-management action on A's account (the admin gets 404 for a missing one)."""
    return Row(
        own={m: (LOGIN, 403, 403, want, LOGIN) for m, want in methods.items()},
        missing={m: (LOGIN, 403, 403, 404, LOGIN) for m in methods},
    )


def signed_in(**methods) -> Row:
    """One's own account pages: every counselor and admin signed in."""
    return Row(own={m: (LOGIN, want, want, want, LOGIN) for m, want in methods.items()})


def portal(missing: bool = False, **methods) -> Row:
    """A partner-portal page: only the partner's own portal session reaches it; everyone
    else (a counselor's login included: the portal never uses Flask-Login) gets the same 404
    "link not available" page. ``missing``: what each actor gets for a section number that
    names nothing (all 404)."""
    return Row(
        own={m: (404, 404, 404, 404, want) for m, want in methods.items()},
        missing={m: (404,) * len(ACTORS) for m in methods} if missing else None,
    )


def everyone(**methods) -> Row:
    """The same answer for every actor, for A's ids and missing ones alike."""
    rows = {m: (want,) * len(ACTORS) for m, want in methods.items()}
    return Row(own=rows, missing=rows)


def explicit(missing: dict[str, tuple] | None = None, **methods) -> Row:
    """Spelled out per actor: (anonymous, counselor A, counselor B, admin, partner);
    ``missing`` the same for ids that name nothing."""
    return Row(own=dict(methods), missing=missing)


HOME = Redirect("/")
TO_CASE = Redirect("/cases/{case_id}")
TO_ACCOUNTS = Redirect("/admin/counselors")
TO_ASSIGNMENT = Redirect("/cases/{case_id}/assignments/{assignment_id}")
TO_COMPARE = Redirect("/cases/{case_id}/assignments/{assignment_id}/compare")
TO_NEW_EXPORT = Redirect("/cases/{case_id}/exports/{new}")
TO_PORTAL = Redirect("/p/")
TO_NEW_DRAFT = Redirect("/questionnaires/{new}/edit")
TO_OWN_EDITOR = Redirect("/questionnaires/{own_questionnaire_id}/edit")
TO_LEARNING = Redirect("/cases/{case_id}/assignments/{learning_assignment_id}")
TO_NEW_HOME_LINK = Redirect("/cases/{case_id}/partners/{partner_id}/home-link/{new}")

# Requests carry no form data: 400 means "the form answered with its errors, nothing saved".
# A's assignment is released and its partners have submitted; its export is ready.
# The partner's requests carry its portal CSRF token; its own link's answers are submitted
# and released, so the portal lets it read but change nothing.
POLICY: dict[str, Row] = {
    # endpoint                 what each actor gets
    "auth.login": explicit(GET=(200, HOME, HOME, HOME, 200), POST=(400, HOME, HOME, HOME, 400)),
    "auth.logout": explicit(POST=(LOGIN, SIGNED_OUT, SIGNED_OUT, SIGNED_OUT, LOGIN)),
    "auth.change_password": signed_in(GET=200, POST=400),
    # the TOTP step: no password step pending in the sweep's browsers, so back to the login
    "auth.login_totp": explicit(
        GET=(LOGIN, HOME, HOME, HOME, LOGIN), POST=(LOGIN, HOME, HOME, HOME, LOGIN)
    ),
    "auth.totp": signed_in(GET=200, POST=400),  # one's own enrolment page; POST: no code
    "cases.home": explicit(
        GET=(
            Redirect("/cases"),
            Redirect("/cases"),
            Redirect("/cases"),
            TO_ACCOUNTS,
            Redirect("/cases"),
        )
    ),
    "cases.index": caseload(GET=200),
    "cases.new": caseload(GET=200, POST=400),
    "cases.show": owned(GET=200),
    "cases.edit": owned(GET=200, POST=400),
    "cases.archive": owned(POST=TO_CASE),
    "cases.unarchive": owned(POST=TO_CASE),
    "cases.delete": owned(GET=200, POST=400),
    "cases.relationships": owned(GET=200, POST=TO_CASE),  # no box ticked: nobody together
    "cases.new_session": owned(GET=200, POST=400),
    "cases.show_session": owned(GET=200),
    "cases.edit_session": owned(GET=200, POST=400),
    "cases.delete_session": owned(POST=TO_CASE),
    # a partner's home link: given (shown once after a redirect), revoked
    "cases.issue_home_link": owned(POST=TO_NEW_HOME_LINK),
    "cases.home_link": owned(GET=TO_CASE),  # no link waits to be shown in the sweep
    "cases.revoke_home_link": owned(POST=TO_CASE),
    "admin.counselors": admin_page(GET=200, POST=400),
    "admin.disable": admin_object(POST=TO_ACCOUNTS),
    "admin.enable": admin_object(POST=TO_ACCOUNTS),
    "admin.practice": admin_page(GET=200, POST=Redirect("/admin/practice")),  # empty: defaults
    # questionnaires: the library, A's assignment and its links
    "questionnaires.library": caseload(GET=200),
    "questionnaires.preview": library(GET=200),
    "questionnaires.import_definition": caseload(GET=200, POST=400),
    "questionnaires.assign_many": library(GET=200, POST=400),
    # the builder: anyone who reads a questionnaire may copy it; only its owner edits it
    "questionnaires.create": caseload(POST=TO_NEW_DRAFT),
    "questionnaires.clone": library(POST=TO_NEW_DRAFT),
    "questionnaires.edit": builder(GET=200, POST=400),
    "questionnaires.check": builder(POST=400),  # no JSON posted
    # the builder's plain forms: no item or score named in the query, back to the builder
    "questionnaires.item_rules": builder(GET=TO_OWN_EDITOR, POST=TO_OWN_EDITOR),
    "questionnaires.score_rule": builder(GET=TO_OWN_EDITOR, POST=TO_OWN_EDITOR),
    "questionnaires.publish": builder(POST=TO_OWN_EDITOR),  # already published: says so
    "questionnaires.share": builder(POST=Redirect("/questionnaires/{own_questionnaire_id}")),
    "questionnaires.export_fhir": library(GET=200),
    "questionnaires.import_fhir": caseload(GET=200, POST=400),
    "questionnaires.assign": owned(GET=200, POST=400),
    "questionnaires.assignment": owned(GET=200),
    "questionnaires.lock": owned(POST=TO_ASSIGNMENT),
    "questionnaires.unlock": owned(POST=TO_ASSIGNMENT),
    "questionnaires.change_due": owned(POST=TO_ASSIGNMENT),  # an empty date clears it
    # the new link is shown on a GET after the POST; that GET shows it once, then (or for a
    # key it never made) goes back to the assignment
    "questionnaires.reissue": owned(
        POST=Redirect("/cases/{case_id}/assignments/{assignment_id}/new-link/{new}")
    ),
    "questionnaires.new_link": owned(GET=TO_ASSIGNMENT),
    "questionnaires.revoke": owned(POST=TO_ASSIGNMENT),
    # reveal: comparison, release (needs the confirm box), alerts (need a note), exports
    "reveal.compare": owned(GET=200),
    "reveal.release": owned(POST=400),
    "reveal.withdraw": owned(POST=TO_COMPARE),
    "alerts.acknowledge": owned(POST=400),
    "reveal.fhir": owned(GET=200),
    "reveal.preview": owned(GET=200),
    "reveal.export_csv": owned(GET=200),
    # reports: PDF exports (the kind defaults to the clinical record; retry: failed ones only)
    "reports.request_session_export": owned(POST=TO_NEW_EXPORT),
    "reports.request_case_export": owned(POST=TO_NEW_EXPORT),
    "reports.show": owned(GET=200),
    "reports.status": owned(GET=200),
    "reports.download": owned(GET=200),
    "reports.retry": owned(POST=409),
    "reports.delete": owned(POST=TO_CASE),
    # mail: one's own notification choices (POST: no delivery chosen); the development
    # mailbox is the machine's (no SMTP configured in the tests): every signed-in user
    "mail.notifications": caseload(GET=200, POST=400),
    "mail.dev_mailbox": signed_in(GET=200),
    # the opt-out link of a partner's mails: its signed token is the credential; the GET only
    # shows the button (mail scanners fetch links), the POST opts the partner out
    "mail.opt_out": explicit(
        GET=(200,) * len(ACTORS),
        POST=(200,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    "mail.dev_mail": explicit(
        GET=(LOGIN, 200, 200, 200, LOGIN), missing={"GET": (LOGIN, 404, 404, 404, LOGIN)}
    ),
    # the partner portal: the token is the credential, whoever holds it (a bad one: 404);
    # the /p/ pages carry no ids and serve only the portal session's own link
    # GET shows the button and changes nothing (link previews); a POST without the button's
    # CSRF token is refused
    "portal.landing": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    # the partner's home link and a mail's sign-in link: the same landing as a personal link
    "portal.home_landing": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    "portal.sign_in": explicit(
        GET=(200,) * len(ACTORS),
        POST=(400,) * len(ACTORS),
        missing={"GET": (404,) * len(ACTORS), "POST": (404,) * len(ACTORS)},
    ),
    # the home lists the partner's own homework; /p/ is the homework the session is on
    "portal.home": portal(GET=200),
    "portal.start": portal(GET=200),
    # homework pages: /p/a/<the partner's own assignment>/… and the short /p/… of the one the
    # session is on; any other assignment id is the same 404 as a link that does not work
    "portal.overview": portal(GET=200, missing=True),
    "portal.section": portal(GET=200, POST=400, missing=True),  # POST: no revision in the form
    "portal.autosave": portal(POST=400, missing=True),  # no JSON body
    "portal.review": portal(GET=200, missing=True),
    "portal.submit": portal(POST=400, missing=True),  # no revision in the form
    "portal.reopen": portal(POST=409, missing=True),  # released: no reopening, with the reason
    "portal.shared": portal(GET=200, missing=True),
    "portal.leave": portal(POST=200),  # forgets the portal cookie (the sweep puts it back)
    "portal.pin": portal(GET=TO_PORTAL, POST=TO_PORTAL),  # this link has no PIN
    "portal.pin_set": portal(POST=400),  # no PIN in the form
    # agreements: A's agreement has a published version and a draft open (its POST without a
    # title, material without a tick and publish without its version: 400, nothing saved)
    "agreements.new": owned(GET=200, POST=400),
    "agreements.show": owned(GET=200),
    "agreements.draft": owned(GET=200, POST=400),
    "agreements.material": owned(POST=400),
    "agreements.publish": owned(POST=400),
    # check-ins: the schedule form (its POST without a questionnaire: 400, nothing made), a
    # schedule's one-click change (without the button's action: 400), the trends page
    "checkins.new": owned(GET=200, POST=400),
    "checkins.change": owned(POST=400),
    "checkins.show_trends": owned(GET=200),
    # the partner's agreement pages: the list is its own; A's agreement is one the partner
    # is not in (a partner of another case), so it gets the very 404 of a missing one
    "agreements.portal_list": portal(GET=200),
    "agreements.portal_show": portal(GET=404, missing=True),
    "agreements.portal_answer": portal(POST=404, missing=True),
    "agreements.portal_pause": portal(POST=404, missing=True),
    "agreements.portal_pause_note": portal(POST=404, missing=True),
    "agreements.portal_lift": portal(POST=404, missing=True),
    "agreements.portal_pdf": portal(POST=404, missing=True),
    "agreements.portal_pdf_status": portal(GET=404, missing=True),
    "agreements.portal_pdf_download": portal(GET=404, missing=True),
    # informed consent: the practice's text (admin; POST without text: 400), the counselor's
    # record of a case, the partner's page (POST without the text's version: 400)
    "consent.text": admin_page(GET=200, POST=400),
    "consent.case_record": owned(GET=200),
    "consent.portal_consent": portal(GET=200, POST=400),
    # the resource library: A's own resource (B: the missing page); resources of A's
    # learning-together assignment (an empty choice clears them)
    "learning.index": caseload(GET=200, POST=400),
    "learning.edit": owned(GET=200, POST=400),
    "learning.delete": owned(POST=Redirect("/resources")),
    "learning.attach": owned(GET=200, POST=TO_LEARNING),
    # steps: A's ladder has one open step (a POST without its fields is refused, nothing
    # saved: 400; deciding on a step that is no proposal, resuming one not paused: 409)
    "steps.case_steps": owned(GET=200, POST=400),
    "steps.edit": owned(GET=200, POST=400),
    "steps.move": owned(POST=400),
    "steps.decide": owned(POST=409),
    "steps.resume": owned(POST=409),
    # the partner's steps and log are their own; A's ladder is one the partner is not in
    "steps.portal_steps": portal(GET=200),
    "steps.portal_log": portal(GET=200),
    "steps.portal_mark": portal(POST=404, missing=True),
    "steps.portal_share": portal(POST=404, missing=True),
    "steps.portal_propose": portal(POST=404, missing=True),
    # Quick exit leaves for the neutral page whoever asks; it ends a session only with the
    # portal's token
    "portal.quick_exit": everyone(POST=200),
}

#: every outcome a refused request may have; such a request must change nothing
REFUSALS = (LOGIN, 400, 403, 404, 405, 409)
