"""The organization pickers: a combobox whose options come as one types, best matches first,
only the sponsor's own; without JavaScript the typed name is the search; the wizards offer
"Create employer “…”" and create it the way CREATE+ does, never twice."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scope.extensions import db
from scope.models import OrganizationKind, PartnerOrganization, UserType, WizardDraft, utcnow
from scope.partners.picker import MATCHES
from tests.helpers import element, elements, field_error, is_whole_page, text_of, texts

SEARCH = "/partners/organizations/search"
WIZARDS = ["/invite/external", "/invite/managed/organization"]


def options(staff, typed: str, create: bool = False, htmx: bool = True):
    query = {"organization_name": typed, **({"create": "employer"} if create else {})}
    return staff.get(f"{SEARCH}?{urlencode(query)}", htmx=htmx)


def labels(response) -> list[str]:
    return [o.get("data-label") for o in elements(response, '[role="option"]')]


def organizations(app) -> list[tuple[str, OrganizationKind]]:
    with app.app_context():
        rows = db.session.execute(
            db.select(PartnerOrganization.name, PartnerOrganization.kind).order_by(
                PartnerOrganization.id
            )
        )
        return [tuple(row) for row in rows]


def draft_organization(app, staff) -> int | None:
    with app.app_context():
        return db.session.scalar(
            db.select(WizardDraft.partner_organization_id).where(
                WizardDraft.staff_user_id == staff.user_id
            )
        )


@pytest.fixture
def names(staff, make_org):
    made = {}
    for name, kind in [
        ("Bacme Supply", OrganizationKind.EMPLOYER),  # mid-word
        ("Big Acme Works", OrganizationKind.EMPLOYER),  # a word starts with it
        ("Acme Tools", OrganizationKind.EMPLOYER),  # the name starts with it
        ("Acme", OrganizationKind.PROVIDER),  # the name itself
        ("Smith-Acmeton", OrganizationKind.EMPLOYER),  # a word after a hyphen
        ("Keystone Electric", OrganizationKind.EMPLOYER),
    ]:
        made[name] = make_org(staff.sponsor_id, name, kind)
    return made


# ------------------------------------------------------------------ the options endpoint


def test_best_matches_come_first(staff, names):
    response = options(staff, "acme")
    assert response.status_code == 200
    assert labels(response) == [
        "Acme",
        "Acme Tools",
        "Big Acme Works",
        "Smith-Acmeton",
        "Bacme Supply",
    ]
    # Each option says what kind of organization it is and carries its id.
    first = element(response, '[role="option"]')
    assert first.get("data-value") == str(names["Acme"])
    assert text_of(first) == "Acme Education Provider"


def test_case_and_spacing_do_not_matter(staff, names):
    assert labels(options(staff, "  KEYSTONE   electric ")) == ["Keystone Electric"]


def test_at_most_twenty_options(staff, make_org):
    for n in range(MATCHES + 10):
        make_org(staff.sponsor_id, f"Shop {n:02}")
    found = labels(options(staff, "shop"))
    assert len(found) == MATCHES == 20
    assert found[:3] == ["Shop 00", "Shop 01", "Shop 02"]
    # An empty box lists the first names, alphabetically.
    assert len(labels(options(staff, ""))) == MATCHES


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("%", ["100% Solar"]),
        ("_", ["A_B Works"]),
        ("a_b", ["A_B Works"]),
        ("a%b", []),
        ("\\", ["Back\\Slash Ltd"]),
        ("'; drop table partner_organization; --", []),
    ],
)
def test_wildcards_and_sql_are_plain_text(app, staff, make_org, typed, expected):
    for name in ("100% Solar", "A_B Works", "ABC Works", "Back\\Slash Ltd"):
        make_org(staff.sponsor_id, name)
    assert labels(options(staff, typed)) == expected
    assert len(organizations(app)) == 4


@pytest.mark.parametrize(
    "typed",
    ["x" * 100_000, "\x00\x1b[31m", "\ud7ff\u202e\ufeff", "😀" * 300, "ǅ\u0301", "%_%_%"],
)
@pytest.mark.parametrize("htmx", [True, False])
def test_anything_typed_is_a_plain_search(staff, names, typed, htmx):
    response = options(staff, typed, create=True, htmx=htmx)
    assert response.status_code == 200


def test_only_this_sponsors_organizations_are_offered(staff, make_sponsor, make_org, names):
    other = make_sponsor("Elsewhere Alliance")
    make_org(other, "Zanzibar Acme Freight")
    assert labels(options(staff, "zanzibar")) == []
    assert "Zanzibar" not in options(staff, "").get_data(as_text=True)
    assert "Zanzibar" not in options(staff, "acme").get_data(as_text=True)
    assert "Zanzibar" not in options(staff, "zanzibar", htmx=False).get_data(as_text=True)


def test_create_is_offered_when_no_employer_has_the_name(staff, names):
    offered = texts(options(staff, "Acme Tool", create=True), '[role="option"]')
    assert offered[-1] == "Create employer “Acme Tool”"
    # An employer of exactly that name (any case) is chosen, never created again.
    assert "Create employer" not in text_of(options(staff, "acme tools", create=True))
    # A provider of that name is not an employer: one may be created.
    assert texts(options(staff, "ACME", create=True), '[role="option"]')[-1] == (
        "Create employer “ACME”"
    )
    # Only where the picker asks for it (not the MANAGE filter), and not for an empty box.
    assert "Create employer" not in text_of(options(staff, "Acme Tool"))
    assert "Create employer" not in text_of(options(staff, "   ", create=True))


def test_without_htmx_the_search_is_a_page_of_links(staff, names):
    response = options(staff, "acme", htmx=False)
    assert response.status_code == 200 and is_whole_page(response)
    links = elements(response, ".plain-list a")
    assert [a.text_content() for a in links][:2] == ["Acme", "Acme Tools"]
    assert links[0].get("href") == f"/partners/organizations/{names['Acme']}"
    assert not elements(response, '[role="option"]')
    assert "HX-Request" in response.headers["Vary"]


def test_the_options_fragment_is_only_options(staff, names):
    response = options(staff, "acme", htmx=True)
    assert not is_whole_page(response)
    assert "<form" not in response.get_data(as_text=True)


def test_strangers_cannot_search(app, make_org, staff):
    make_org(staff.sponsor_id, "Secret Works")
    response = app.test_client().get(f"{SEARCH}?organization_name=secret")
    assert response.status_code in (302, 401)
    assert "Secret Works" not in response.get_data(as_text=True)


# ------------------------------------------------------------------ the wizards


@pytest.mark.parametrize("step", WIZARDS)
def test_the_picker_is_labelled_employer_and_shows_the_chosen_one(app, staff, names, step):
    staff.post(step, {"organization": names["Keystone Electric"]}, htmx=True)
    page = staff.get(step)
    assert texts(page, 'label[for="organization"]') == ["Employer"]
    box = element(page, "input#organization")
    assert box.get("role") == "combobox" and box.get("aria-expanded") == "false"
    assert box.get("aria-controls") == "organization-options"
    assert element(page, "#organization-options").get("role") == "listbox"
    assert box.get("value") == "Keystone Electric"
    assert element(page, "#organization-value").get("value") == str(names["Keystone Electric"])
    assert "create=employer" in box.get("hx-get")


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize("step", WIZARDS)
def test_a_typed_name_alone_picks_the_organization(app, staff, names, step, htmx):
    response = staff.post(step, {"organization_name": "keystone ELECTRIC"}, htmx=htmx)
    assert response.status_code in (200, 302)
    if not htmx:
        assert response.status_code == 302 and response.location.endswith("/users")
    assert draft_organization(app, staff) == names["Keystone Electric"]


@pytest.mark.parametrize("htmx", [True, False])
def test_a_name_that_picks_none_offers_the_candidates_as_radios(app, staff, names, htmx):
    before = organizations(app)
    response = staff.post("/invite/external", {"organization_name": "acm"}, htmx=htmx)
    assert response.status_code == 422
    assert "choose one of these" in field_error(response, "organization")
    radios = elements(response, 'input[type="radio"][name="organization_choice"]')
    assert [r.get("value") for r in radios][:2] == [str(names["Acme"]), str(names["Acme Tools"])]
    assert radios[-1].get("value") == "new"
    assert "Create employer “acm”" in text_of(response)
    assert organizations(app) == before and draft_organization(app, staff) is None
    # Picking one of them (the box still holds the search) goes on.
    picked = staff.post(
        "/invite/external",
        {"organization_name": "acm", "organization_choice": str(names["Acme Tools"])},
        htmx=htmx,
    )
    assert picked.status_code in (200, 302)
    assert draft_organization(app, staff) == names["Acme Tools"]


def test_a_name_that_matches_nothing_says_so(app, staff, names):
    response = staff.post("/invite/external", {"organization_name": "Qwerty"}, htmx=True)
    assert response.status_code == 422
    assert field_error(response, "organization") == "No organization matches “Qwerty”."
    assert "Create employer “Qwerty”" in text_of(response)


def test_text_typed_over_a_pick_wins_over_its_stale_id(app, staff, names):
    response = staff.post(
        "/invite/external",
        {"organization": names["Acme Tools"], "organization_name": "Keystone Electric"},
        htmx=True,
    )
    assert response.status_code == 200
    assert draft_organization(app, staff) == names["Keystone Electric"]


@pytest.mark.parametrize("htmx", [True, False])
def test_another_sponsors_id_is_refused_like_any_unknown_id(
    app, staff, make_sponsor, make_org, names, htmx
):
    theirs = make_org(make_sponsor("Elsewhere"), "Zanzibar Freight")
    staff.post("/invite/external", {"organization": names["Acme"]}, htmx=True)
    before = organizations(app)
    for data in (
        {"organization": theirs},
        {"organization": theirs, "organization_name": "Zanzibar Freight"},
        {"organization_choice": theirs},
        {"organization": "99999"},
    ):
        response = staff.post("/invite/external", data, htmx=htmx)
        assert response.status_code == 422, data
        assert field_error(response, "organization"), data
        offered = elements(response, 'input[name="organization_choice"]')
        assert {r.get("value") for r in offered} <= {"new", *map(str, names.values())}
        assert not elements(response, f'input[value="{theirs}"]')
    assert organizations(app) == before
    assert draft_organization(app, staff) == names["Acme"]


@pytest.mark.parametrize("htmx", [True, False])
def test_create_employer_creates_it_once_and_picks_it(app, staff, names, htmx):
    before = len(organizations(app))
    for typed in ("Maple Health", "  maple   HEALTH "):
        response = staff.post(
            "/invite/external", {"organization": "new", "organization_name": typed}, htmx=htmx
        )
        assert response.status_code in (200, 302)
    made = organizations(app)
    assert len(made) == before + 1
    assert made[-1] == ("Maple Health", OrganizationKind.EMPLOYER)
    with app.app_context():
        maple = db.session.scalar(
            db.select(PartnerOrganization.id).where(PartnerOrganization.name == "Maple Health")
        )
    assert draft_organization(app, staff) == maple
    # It is now on the Employers page like any employer created there.
    assert "Maple Health" in text_of(staff.get("/partners/employers?q=maple"))


def test_create_employer_through_the_no_javascript_radio(app, staff, names):
    response = staff.post(
        "/invite/managed/organization",
        {"organization_name": "Riverside Clinic", "organization_choice": "new"},
    )
    assert response.status_code == 302
    assert organizations(app)[-1] == ("Riverside Clinic", OrganizationKind.EMPLOYER)


def test_create_employer_chooses_an_existing_employer_of_that_name(app, staff, names):
    before = organizations(app)
    response = staff.post(
        "/invite/external",
        {"organization": "new", "organization_name": "keystone electric"},
        htmx=True,
    )
    assert response.status_code == 200
    assert organizations(app) == before
    assert draft_organization(app, staff) == names["Keystone Electric"]


@pytest.mark.parametrize(
    "typed, message",
    [
        ("x" * 201, "Use at most 200 characters."),
        ("Bad\x00Name", "Type this without hidden or control characters."),
        ("   ", "Choose an organization from the list."),
    ],
)
def test_create_employer_follows_the_name_rules(app, staff, names, typed, message):
    before = organizations(app)
    response = staff.post(
        "/invite/external", {"organization": "new", "organization_name": typed}, htmx=True
    )
    assert response.status_code == 422
    assert message in text_of(response)
    assert organizations(app) == before


# ------------------------------------------------------------------ MANAGE → Users


@pytest.fixture
def people(staff, make_org, make_user, names):
    make_user(
        "ana@acme.example",
        sponsor_id=staff.sponsor_id,
        first_name="Ana",
        user_type=UserType.SUPERVISOR,
        organization_id=names["Acme Tools"],
    )
    make_user(
        "ken@keystone.example",
        sponsor_id=staff.sponsor_id,
        first_name="Ken",
        user_type=UserType.SUPERVISOR,
        organization_id=names["Keystone Electric"],
    )
    return names


@pytest.mark.parametrize("htmx", [True, False])
def test_manage_filter_by_typed_name_without_javascript(staff, people, htmx):
    response = staff.get("/manage/users?organization=&organization_name=acme+tools", htmx=htmx)
    assert response.status_code == 200
    page = text_of(response)
    assert "ana@acme.example" in page and "ken@keystone.example" not in page
    if not htmx:
        assert element(response, "#filter-organization-value").get("value") == str(
            people["Acme Tools"]
        )


@pytest.mark.parametrize("htmx", [True, False])
def test_manage_filter_name_that_picks_none_lists_no_one_and_says_why(staff, people, htmx):
    response = staff.get("/manage/users?organization_name=acm", htmx=htmx)
    assert response.status_code == 200
    page = text_of(response)
    assert "ana@acme.example" not in page and "ken@keystone.example" not in page
    assert "No organization is named exactly “acm”" in page
    if not htmx:
        radios = elements(response, 'input[type="radio"][name="organization_choice"]')
        assert radios and "new" not in [r.get("value") for r in radios]
    chosen = staff.get(
        f"/manage/users?organization_name=acm&organization_choice={people['Acme Tools']}",
        htmx=htmx,
    )
    assert "ana@acme.example" in text_of(chosen) and "ken@" not in text_of(chosen)


def test_manage_filter_never_creates(app, staff, people):
    before = organizations(app)
    response = staff.get("/manage/users?organization=new&organization_name=Brand+New")
    assert response.status_code == 200
    assert organizations(app) == before
    assert "No organization matches “Brand New”" in text_of(response)


def test_manage_filter_refuses_another_sponsors_id(staff, make_sponsor, make_org, people):
    theirs = make_org(make_sponsor("Elsewhere"), "Zanzibar Freight")
    response = staff.get(f"/manage/users?organization={theirs}")
    assert response.status_code == 200
    assert field_error(response, "filter-organization") == "Choose an organization from the list."
    assert element(response, "#filter-organization-value").get("value") == ""
    assert "Zanzibar" not in response.get_data(as_text=True)


def test_manage_page_no_longer_lists_every_organization(staff, make_org):
    for n in range(300):
        make_org(staff.sponsor_id, f"Organization number {n:03}")
    page = staff.get("/manage/users").get_data(as_text=True)
    assert "Organization number" not in page
    assert not elements(page, "#filter-organization option")


# ------------------------------------------------------------------ garbage in


garbage = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["%", "_", "%%", "\\", "' or 1=1 --", "0", "-1", "2147483648", "１２"]),
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=garbage.filter(lambda v: v.strip() != "new"),
    typed=garbage,
    choice=garbage.filter(lambda v: v.strip() != "new"),
    htmx=st.booleans(),
)
def test_garbage_gives_a_message_or_results_never_a_500(app, staff, value, typed, choice, htmx):
    before = organizations(app)
    search = options(staff, typed, create=True, htmx=htmx)
    assert search.status_code == 200
    data = {"organization": value, "organization_name": typed, "organization_choice": choice}
    response = staff.post("/invite/external", data, htmx=htmx)
    assert response.status_code in (200, 302, 422)
    if response.status_code == 422:
        assert field_error(response, "organization")
    listing = staff.get("/manage/users?" + urlencode(data), htmx=htmx)
    assert listing.status_code == 200
    assert organizations(app) == before


def test_the_wizards_picker_leaves_archived_organizations_out(app, staff, names):
    with app.app_context():
        archived = db.session.get(PartnerOrganization, names["Acme Tools"])
        archived.archived_at = utcnow()
        db.session.commit()
    assert "Acme Tools" not in labels(options(staff, "acme", create=True))
    # MANAGE → Users may still filter by it: its people are still listed there.
    assert "Acme Tools" in labels(options(staff, "acme"))
    response = staff.post("/invite/external", {"organization": names["Acme Tools"]}, htmx=True)
    assert response.status_code == 422
    assert "archived" in field_error(response, "organization")
