"""Host header, HSTS: links come from COUNSELOR_BASE_URL, production answers only its own host."""

from __future__ import annotations

from tests.support import assign_http, new_case, questionnaire, sign_in, sync

BASE = "https://counselor.example.org"


def test_links_are_built_from_the_base_url_never_from_the_host_header(make_app, counselor_a):
    app = make_app(COUNSELOR_BASE_URL=BASE)
    with app.app_context():
        sync()
        case = new_case(counselor_a)
        client = app.test_client()
        client.environ_base["HTTP_HOST"] = "evil.example"
        sign_in(client, counselor_a)
        r, tokens = assign_http(client, case, questionnaire("desires-boundaries").id)
        page = r.get_data(as_text=True)
        assert tokens and "evil.example" not in page
        for token in tokens.values():
            assert f'value="{BASE}{token}"' in page  # a home link: /h/<token>


def _production_app(make_app):
    return make_app(
        PRODUCTION=True,
        COUNSELOR_BASE_URL=BASE,
        SESSION_COOKIE_SECURE=True,
    )


def test_production_refuses_requests_for_another_host_with_400(make_app):
    app = _production_app(make_app)
    client = app.test_client()
    assert client.get("/login", base_url=BASE).status_code == 200
    for host in ("evil.example", "counselor.example.org.evil.example", "127.0.0.1"):
        r = client.get("/login", base_url=f"https://{host}")
        assert r.status_code == 400, host
        assert "Traceback" not in r.get_data(as_text=True)


def test_production_sends_hsts_for_a_year_with_subdomains(make_app):
    app = _production_app(make_app)
    for path in ("/login", "/l/unknown-token", "/static/favicon.svg"):
        r = app.test_client().get(path, base_url=BASE)
        hsts = r.headers.get("Strict-Transport-Security", "")
        directives = {d.strip().split("=")[0].lower(): d for d in hsts.split(";")}
        assert "includesubdomains" in directives, path
        assert int(directives["max-age"].split("=")[1]) >= 31536000, path


def test_development_sends_no_hsts(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
