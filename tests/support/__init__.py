"""What the tests share: one helper of each kind, imported as ``from tests.support import ...``.

Fixtures live in the ``conftest.py`` files; everything a test calls lives here:

- ``services``: the test database, Redis and Celery queue of this pytest-xdist worker, free ports
- ``accounts``: accounts and signed-in test clients (``sign_in``, ``signed_in_client``)
- ``records``: cases, rows read fresh, counting SQL statements
- ``library``: the questionnaire library, own definitions, the one ``assign``
- ``portal``: a partner's browser (``open_link`` and ``PartnerBrowser``)
- ``canary``: canary strings and the raw-database leak check
- ``mail``, ``smtp``: the mail tests' settings, outbox and SMTP server
- ``workers``: real Celery worker and beat processes
- ``browser``: Playwright helpers
- ``fhir``: FHIR R4 validation of exported resources (the ``fhir.resources`` library)
"""

from tests.support.accounts import (
    PASSWORD,
    Account,
    csrf_token_from,
    make_account,
    sign_in,
    signed_in_client,
)
from tests.support.canary import CANARY, canary, database_bytes, encodings, leaks
from tests.support.library import (
    INTAKE,
    INVENTORY,
    assign,
    assign_http,
    desire,
    intake_answers,
    inventory_answers,
    links_from,
    load_own,
    practice_today,
    questionnaire,
    request_key_from,
    small_alert_definition,
    small_definition,
    submitted,
    sync,
)
from tests.support.portal import (
    PartnerBrowser,
    acknowledge_consent,
    autosave,
    landing_csrf,
    open_link,
    open_portal,
    portal_csrf,
    response_of,
    revision_of,
    section,
)
from tests.support.records import counting, fresh, fresh_row, new_case, partner_named
from tests.support.services import (
    PG_URL,
    REDIS_URL,
    REQUIRE_SERVICES,
    free_port,
    service_unavailable,
    sqlalchemy_url,
)

__all__ = [
    "acknowledge_consent",
    "CANARY",
    "INTAKE",
    "INVENTORY",
    "PASSWORD",
    "PG_URL",
    "REDIS_URL",
    "REQUIRE_SERVICES",
    "Account",
    "PartnerBrowser",
    "assign",
    "assign_http",
    "autosave",
    "canary",
    "counting",
    "csrf_token_from",
    "database_bytes",
    "desire",
    "encodings",
    "fresh",
    "free_port",
    "intake_answers",
    "inventory_answers",
    "landing_csrf",
    "leaks",
    "links_from",
    "load_own",
    "make_account",
    "new_case",
    "open_link",
    "open_portal",
    "partner_named",
    "portal_csrf",
    "practice_today",
    "questionnaire",
    "request_key_from",
    "response_of",
    "revision_of",
    "fresh_row",
    "section",
    "service_unavailable",
    "sign_in",
    "signed_in_client",
    "small_alert_definition",
    "small_definition",
    "sqlalchemy_url",
    "submitted",
    "sync",
]
