"""Hypothesis-driven requests to every form endpoint, enumerated from app.url_map.

Arbitrary unicode, control characters, 1 MB strings, missing and repeated fields, malformed
CSV uploads, malformed and truncated tokens: never a 500, always a message, and the database
unchanged when the input is refused. HYPOTHESIS_PROFILE=ci runs 200 examples per endpoint
(what .ci/run does); the default is a quick 20.
"""

from __future__ import annotations

import io
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart
from wtforms.fields.core import UnboundField

import scope.accounts.forms
import scope.auth.forms
import scope.invites.forms
import scope.manage.forms
import scope.partners.forms
import scope.public_links.forms
from scope.extensions import db, limiter
from scope.models import User, UserType
from tests.helpers import (
    CHANGING,
    PARTNER_ONLY,
    PUBLIC,
    csrf_token,
    expand,
    login,
    methods,
    rules,
    text_of,
)

settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=False,
)
settings.register_profile(
    "dev", max_examples=20, deadline=None, suppress_health_check=list(HealthCheck)
)
# Applied to these tests only: other hypothesis tests keep their own settings.
PROFILE = settings.get_profile("ci" if os.environ.get("HYPOTHESIS_PROFILE") == "ci" else "dev")


def _field_names() -> list[str]:
    """Every field of every form in Scope: a field added later is fuzzed too."""
    names = {"csrf_token", "user_id", "view"}
    for module in (
        scope.accounts.forms,
        scope.auth.forms,
        scope.invites.forms,
        scope.manage.forms,
        scope.partners.forms,
        scope.public_links.forms,
    ):
        for value in vars(module).values():
            if isinstance(value, type):
                names |= {
                    name for name, attr in vars(value).items() if isinstance(attr, UnboundField)
                }
                for base in value.__mro__:
                    names |= {
                        name for name, attr in vars(base).items() if isinstance(attr, UnboundField)
                    }
    return sorted(names - {"csrf_token"})


FIELDS = _field_names()

_CONTROL = st.characters(min_codepoint=0, max_codepoint=31) | st.sampled_from(
    ["\x7f", "\u200b", "\u202e", "\ufeff", "\ud7ff", "\U0001f600", "\u0301"]
)
_TEXT = st.text(st.characters(exclude_categories=("Cs",)) | _CONTROL, max_size=300)
_HUGE = st.builds(
    lambda char, size: char * size, _CONTROL | st.sampled_from('aé@,"'), st.just(1_000_000)
)
# Id-shaped values at the edges: past 32 and 64 bits, and digits that str.isdigit() accepts but
# int() refuses (superscripts) or reads (Arabic-Indic, full-width).
_ID_EDGES = st.sampled_from(
    [
        str(2**31),
        "2200000000",
        str(2**63),
        str(2**64),
        "9" * 30,
        "²",
        "1²",
        "٣",
        "１２",
        "+1",
        "1_0",
    ]
)
_VALUE = st.one_of(
    _TEXT,
    st.integers(-(2**70), 2**70).map(str),
    _ID_EDGES,
    st.sampled_from(["", " ", "0", "-1", "null", "mentor", "staff", "a@example.com", "x" * 255]),
)
# Missing fields (a subset), repeated fields (lists), every value arbitrary; in about one
# example in five, one field (known or not) carries a 1 MB string.
FORMS = st.tuples(
    st.dictionaries(
        st.sampled_from(FIELDS) | _TEXT.filter(bool),
        st.one_of(_VALUE, st.lists(_VALUE, min_size=2, max_size=3)),
        max_size=8,
    ),
    st.one_of(st.none(), st.none(), st.none(), st.none(), st.sampled_from(FIELDS)),
    _HUGE,
).map(lambda t: t[0] if t[1] is None else {**t[0], t[1]: t[2]})

_CSV_BYTES = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.lists(_TEXT, max_size=8).map(lambda cells: ",".join(cells)), max_size=20).map(
        lambda rows: "\n".join(["user_type,first_name,last_name,email,occupation", *rows])
    ),
    st.sampled_from(
        [
            b"",
            b"\xff\xfe\x00",
            b'"unterminated,quote\n',
            b"user_type,first_name\n" + b"mentor,a\n" * 5000,
            "\ufeffuser_type,first_name,last_name,email,occupation\nmentor,\u202e,x,,\n".encode(),
        ]
    ).map(lambda b: b.decode("utf-8", "replace") if isinstance(b, bytes) else b),
).map(lambda v: v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass"))

_TOKENS = st.one_of(
    st.text(st.characters(codec="ascii", exclude_characters="/?#%"), min_size=1, max_size=300),
    st.text(alphabet="ABCDEFabcdef0123456789-_.", min_size=1, max_size=120),
    st.sampled_from([".", "..", "a" * 5000, "%00", "0"]),
    st.tuples(_ID_EDGES, st.sampled_from(["", "." + "A" * 43])).map("".join),
)


def _items(payload: dict):
    for key, value in payload.items():
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, tuple):
                one = FileStorage(one[0], filename=one[1], content_type="text/csv")
            yield key, one


def _snapshot() -> dict:
    """Every row of every table."""
    tables = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(table.select().order_by(*table.primary_key.columns)).all()
        tables[table.name] = [tuple(row) for row in rows]
    db.session.rollback()
    return tables


def _form_rules(app):
    for rule in rules(app):
        if set(methods(rule)) & CHANGING and rule.endpoint != "auth.logout":
            yield rule


def _who(endpoint: str) -> str:
    if endpoint in PUBLIC:
        return "anonymous"
    if endpoint in PARTNER_ONLY:
        return "administrator"
    return "staff"


def pytest_generate_tests(metafunc):
    if "form_endpoint" in metafunc.fixturenames:
        from scope import create_app

        app = create_app(
            {"TESTING": True, "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
        )
        endpoints = sorted({rule.endpoint for rule in _form_rules(app)})
        metafunc.parametrize("form_endpoint", endpoints)


def _client_for(app, endpoint: str):
    who = _who(endpoint)
    if who == "anonymous":
        client = app.test_client()
    elif who == "administrator":
        client = login(app, "administrator@home.example.com")
    else:
        client = login(app, "staff@home.example.com")
    return client, csrf_token(client)


def _check(app, response, before) -> None:
    body = response.get_data(as_text=True)
    assert response.status_code < 500, body[:2000]
    if response.status_code >= 400:
        assert re.search(r"[A-Za-z]{3,}", text_of(response)), "a refusal without a message"
        with app.app_context():
            assert _snapshot() == before, "refused input changed the database"


# A multipart body refused with 413 half-way leaves Werkzeug's spooled part files to the garbage
# collector; that is a ResourceWarning, not a fault of Scope, and the GC does close them.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_every_form_endpoint_survives_arbitrary_input(app, world, form_endpoint):
    home, _ = world
    client, token = _client_for(app, form_endpoint)
    rule = next(r for r in _form_rules(app) if r.endpoint == form_endpoint)
    urls = expand(rule, home.ids())
    # Open every wizard once, so drafts exist before the first snapshot.
    if _who(form_endpoint) == "staff":
        for page in ("/invite/teammates", "/invite/external", "/invite/managed/organization"):
            client.get(page)
    tried = []
    # The database as the examples since the last accepted one left it: a refusal is checked
    # to change nothing, so only an accepted request makes a new snapshot needed.
    known = {}

    @PROFILE
    @given(form=FORMS, which=st.integers(0, len(urls) - 1), htmx=st.booleans(), data=st.data())
    def run(form, which, htmx, data):
        url = urls[which]
        if "<token>" in rule.rule or "token" in rule.arguments:
            url = url.replace("x" * 43, data.draw(_TOKENS, label="token"))
        files = {}
        if form_endpoint == "invites.upload":
            files["csv_file"] = (io.BytesIO(data.draw(_CSV_BYTES, label="csv")), "people.csv")
        headers = {"X-CSRFToken": token}
        if htmx:
            headers["HX-Request"] = "true"
        if "before" not in known:
            with app.app_context():
                known["before"] = _snapshot()
        before = known.pop("before")  # kept again below once the request is judged
        payload = {**form, **files}
        # Both encodings browsers use; a 1 MB value goes as multipart, where percent-decoding
        # three megabytes does not make every example slow.
        huge = any(len(v) > 100_000 for v in form.values() if isinstance(v, str))
        multipart = bool(files) or huge or data.draw(st.booleans(), label="multipart")
        if multipart:
            # Encoded here, in memory: the test client would spool a large body to a file.
            boundary, body = encode_multipart(MultiDict(_items(payload)))
            response = client.post(
                url,
                data=body,
                headers=headers,
                content_type=f"multipart/form-data; boundary={boundary}",
            )
        else:
            response = client.post(url, data=payload, headers=headers)
        tried.append(response.status_code)
        try:
            _check(app, response, before)
        finally:
            response.close()  # the test client spools large bodies to temporary files
        if response.status_code >= 400:
            known["before"] = before  # refused, and checked to have changed nothing

    run()
    assert len(tried) >= min(PROFILE.max_examples, 20) // 2


def test_a_wrong_method_gets_405_with_a_message_everywhere(app, world):
    home, _ = world
    client = login(app, "staff@home.example.com")
    token = csrf_token(client)
    adapter = app.url_map.bind("localhost")
    tried = 0
    for rule in rules(app):
        for url in expand(rule, home.ids()):
            # Several rules may share a URL (GET confirm, POST do): allowed is what any takes.
            allowed = set(adapter.allowed_methods(url))
            for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - allowed:
                response = client.open(url, method=method, headers={"X-CSRFToken": token})
                tried += 1
                assert response.status_code == 405, (method, url, response.status_code)
                assert "cannot be done this way" in response.get_data(as_text=True)
    assert tried >= 40


@pytest.fixture
def limits_off():
    # Hundreds of guesses from one client: the limit itself is tested in test_security.py.
    limiter.enabled = False
    yield
    limiter.enabled = True


@given(token=_TOKENS)
@PROFILE
def test_malformed_and_truncated_link_tokens_get_a_page_that_says_so(app, limits_off, token):
    client = app.test_client()
    for prefix in ("/join/", "/account/set-password/", "/account/recover/"):
        response = client.get(prefix + token)
        assert response.status_code in (404, 410, 308), (prefix, token, response.status_code)
        if response.status_code != 308:
            assert re.search(r"[A-Za-z]{3,}", text_of(response))


def test_real_tokens_cut_short_or_altered_never_work(app, world):
    from scope.manage.invitations import copy_link
    from scope.models import Invitation

    home, _ = world
    with app.app_context():
        link = copy_link(db.session.get(Invitation, home.invitation_id))
    path = link.split("scope.test", 1)[1]
    token = path.rsplit("/", 1)[1]
    client = app.test_client()
    assert client.get(path).status_code == 200
    variants = [token[:n] for n in range(1, len(token))]
    variants += [
        token[:n] + ("A" if token[n] != "A" else "B") + token[n + 1 :] for n in range(len(token))
    ]
    variants += [token + "x", token.upper(), token.lower()]
    for variant in variants:
        if variant == token:
            continue
        response = client.get("/join/" + variant)
        assert response.status_code == 404, variant
    with app.app_context():
        staff = db.session.get(User, home.staff_id)
        assert staff.user_type is UserType.STAFF
    assert len(variants) > 60
