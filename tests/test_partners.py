"""Partners: employers, providers and occupations, through the test client."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scope.extensions import db
from scope.models import Occupation, OrganizationKind, PartnerOrganization
from tests.helpers import elements, fragment_elements, is_whole_page, text_of


def org_count(app, sponsor_id=None):
    with app.app_context():
        stmt = db.select(db.func.count(PartnerOrganization.id))
        if sponsor_id:
            stmt = stmt.where(PartnerOrganization.sponsor_id == sponsor_id)
        return db.session.scalar(stmt)


def test_create_employer_from_the_dialog_adds_a_row(app, staff):
    dialog = staff.get("/partners/employers/new", htmx=True).get_data(as_text=True)
    assert elements(dialog, "dialog") and "New Employer" in dialog and not is_whole_page(dialog)
    response = staff.post("/partners/employers/new", {"name": "  Keystone   Electric "}, htmx=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert fragment_elements(html)[0].tag == "tr" and "Keystone Electric" in html
    assert response.headers["HX-Trigger"] == "scope:close-dialog"
    with app.app_context():
        org = db.session.scalar(db.select(PartnerOrganization))
        assert (org.name, org.kind, org.sponsor_id) == (
            "Keystone Electric",
            OrganizationKind.EMPLOYER,
            staff.sponsor_id,
        )
    assert "Keystone Electric" in staff.get("/partners/employers").get_data(as_text=True)
    assert "Keystone Electric" not in staff.get("/partners/providers").get_data(as_text=True)


def test_provider_dialog_is_titled_for_education_providers(staff):
    html = staff.get("/partners/providers/new", htmx=True).get_data(as_text=True)
    assert "New Education Provider" in html and "NAICS" not in html


def test_create_without_htmx_redirects_to_the_list(staff):
    response = staff.post("/partners/providers/new", {"name": "Lakeshore Community College"})
    assert response.status_code == 302 and response.headers["Location"] == "/partners/providers"


def test_empty_name_comes_back_in_the_dialog_with_422(app, staff):
    response = staff.post("/partners/employers/new", {"name": "   "}, htmx=True)
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#organization-form"
    html = response.get_data(as_text=True)
    assert "Enter the organization's name." in text_of(html)
    assert elements(html, '[aria-invalid="true"]')
    assert org_count(app) == 0


@pytest.mark.parametrize(
    "data, message",
    [
        ({"name": "x" * 10_000}, "Use at most 200 characters."),
        ({"name": "Acme", "ein": "12"}, "An EIN has 9 digits"),
        ({"name": "Acme", "state": "Ohio"}, "two-letter state code"),
        ({"name": "Acme", "zip_code": "abcde"}, "5-digit ZIP code"),
        ({"name": "Acme", "website": "not a url"}, "full web address"),
        ({"name": "Acme", "contact_email": "nobody"}, "email address"),
        ({"name": "Acme", "naics_code": "12ab"}, "NAICS code has 2 to 6 digits"),
        ({"name": "Acme", "phone": "call me"}, "phone number"),
        ({"name": "Acme", "notes": "n" * 6000}, "5,000 characters"),
        ({"name": ["a", "b"]}, None),
    ],
)
def test_bad_input_gets_a_message_and_changes_nothing(app, staff, data, message):
    response = staff.post("/partners/employers/new", data, htmx=True)
    if message is None:  # a repeated field: the first value is taken, nothing breaks
        assert response.status_code in (200, 422)
        return
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert org_count(app) == 0


def test_duplicate_name_of_the_same_kind_is_refused(app, staff):
    staff.post("/partners/employers/new", {"name": "Summit Builders"}, htmx=True)
    response = staff.post("/partners/employers/new", {"name": "SUMMIT builders"}, htmx=True)
    assert response.status_code == 422
    assert "An employer named “SUMMIT builders” already exists." in response.get_data(as_text=True)
    assert org_count(app) == 1
    # The same name is fine for a provider, and for another sponsor.
    assert (
        staff.post("/partners/providers/new", {"name": "Summit Builders"}, htmx=True).status_code
        == 200
    )
    assert org_count(app) == 2


def test_control_characters_are_refused_beside_the_field(app, staff):
    response = staff.post("/partners/employers/new", {"name": "Nul\x00 Byte\x07 Co"}, htmx=True)
    assert response.status_code == 422
    assert "without hidden or control characters" in response.get_data(as_text=True)
    assert org_count(app) == 0


def test_all_optional_fields_are_saved_and_shown(app, staff):
    data = {
        "name": "Granite Mechanical",
        "dba_name": "Granite HVAC",
        "ein": "12-3456789",
        "street": "100 Main St",
        "city": "Columbus",
        "state": "oh",
        "zip_code": "43215",
        "phone": "(555) 123-4567",
        "website": "https://granite.example.org",
        "contact_name": "Rosa Diaz",
        "contact_email": "rosa@granite.example.org",
        "contact_phone": "555 765 4321",
        "naics_code": "238220",
        "notes": "Two sites.\nNight shift available.",
    }
    staff.post("/partners/employers/new", data, htmx=True)
    with app.app_context():
        org_id = db.session.scalar(db.select(PartnerOrganization.id))
    html = staff.get(f"/partners/organizations/{org_id}").get_data(as_text=True)
    for value in (
        "Granite HVAC",
        "12-3456789",
        "100 Main St",
        "Columbus, OH",
        "238220",
        "Rosa Diaz",
    ):
        assert value in html


def test_edit_in_place(app, staff, make_org):
    org_id = make_org(staff.sponsor_id, "Beacon Health")
    form = staff.get(f"/partners/organizations/{org_id}/edit", htmx=True).get_data(as_text=True)
    assert elements(form, '[id="organization-details"]')
    assert elements(form, '[value="Beacon Health"]')
    response = staff.post(
        f"/partners/organizations/{org_id}/edit",
        {"name": "Beacon Health", "city": "Denver"},
        htmx=True,
    )
    assert response.status_code == 200
    assert "Denver" in response.get_data(as_text=True) and not elements(response, "form")
    assert "Denver" in staff.get(f"/partners/organizations/{org_id}").get_data(as_text=True)


def test_edit_refuses_a_name_taken_by_another_employer(app, staff, make_org):
    make_org(staff.sponsor_id, "Beacon Health")
    other = make_org(staff.sponsor_id, "Cedar Health")
    response = staff.post(
        f"/partners/organizations/{other}/edit", {"name": "beacon health"}, htmx=True
    )
    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(PartnerOrganization, other).name == "Cedar Health"


def test_edit_bad_input_changes_nothing(app, staff, make_org):
    org_id = make_org(staff.sponsor_id, "Beacon Health")
    response = staff.post(
        f"/partners/organizations/{org_id}/edit", {"name": "", "city": "Denver"}, htmx=True
    )
    assert response.status_code == 422
    with app.app_context():
        org = db.session.get(PartnerOrganization, org_id)
        assert (org.name, org.city) == ("Beacon Health", None)


def test_organization_page_lists_its_users(staff, make_org, make_user):
    org_id = make_org(staff.sponsor_id, "Beacon Health")
    make_user(
        "mentor@beacon.test",
        sponsor_id=staff.sponsor_id,
        user_type="mentor",
        organization_id=org_id,
        first_name="Maya",
        last_name="Chen",
    )
    html = staff.get(f"/partners/organizations/{org_id}").get_data(as_text=True)
    assert "Maya Chen" in html and "mentor@beacon.test" in html and "Mentor" in html


def test_search_sort_and_paging_keep_state_in_the_url(staff, make_org):
    for i in range(30):
        make_org(staff.sponsor_id, f"Org {i:02d}")
    make_org(staff.sponsor_id, "Zeta Welding")
    page = staff.get("/partners/employers?q=zeta", htmx=True).get_data(as_text=True)
    assert "Zeta Welding" in page and "Org 01" not in page and not is_whole_page(page)
    first = staff.get("/partners/employers").get_data(as_text=True)
    assert "Org 00" in first and "Org 29" not in first and "1–25 of 31" in first
    second = staff.get("/partners/employers?page=2").get_data(as_text=True)
    assert "Org 29" in second and "Org 00" not in second
    desc = staff.get("/partners/employers?sort=name&dir=desc").get_data(as_text=True)
    assert desc.index("Zeta Welding") < desc.index("Org 29")
    assert elements(first, '[href="/partners/employers?sort=name&dir=asc&page=2"]')


@pytest.mark.parametrize(
    "query",
    ["?page=abc", "?page=-4", "?sort=drop+table", "?dir=sideways", "?size=1000000", "?q=%00%25_"],
)
def test_malformed_listing_parameters_fall_back_to_defaults(staff, query):
    assert staff.get("/partners/employers" + query).status_code == 200


def test_search_treats_wildcards_literally(staff, make_org):
    make_org(staff.sponsor_id, "100% Plumbing")
    make_org(staff.sponsor_id, "Other Co")
    html = staff.get("/partners/employers?q=%25", htmx=True).get_data(as_text=True)
    assert "100% Plumbing" in html and "Other Co" not in html


def test_another_sponsors_staff_sees_nothing(app, staff, make_org, make_sponsor, make_user):
    other_sponsor = make_sponsor("Other Sponsor")
    theirs = make_org(other_sponsor, "Their Secret Employer")
    html = staff.get("/partners/employers").get_data(as_text=True)
    assert "Their Secret Employer" not in html
    assert staff.get(f"/partners/organizations/{theirs}").status_code == 404
    assert staff.get(f"/partners/organizations/{theirs}/edit").status_code == 404
    response = staff.post(f"/partners/organizations/{theirs}/edit", {"name": "Hijacked"})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(PartnerOrganization, theirs).name == "Their Secret Employer"


def test_occupations_list_and_create(app, staff):
    page = staff.get("/partners/occupations").get_data(as_text=True)
    assert "Electrician" in page and "47-2111.00" in page
    response = staff.post(
        "/partners/occupations",
        {"name": "Roofer", "rapids_code": "0473", "onet_code": "47-2181.00"},
        htmx=True,
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert elements(html, '[hx-swap-oob="afterbegin:#occupation-rows"]') and "Roofer" in html
    duplicate = staff.post("/partners/occupations", {"name": "roofer"}, htmx=True)
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    bad = staff.post("/partners/occupations", {"name": "Tiler", "onet_code": "nope"}, htmx=True)
    assert bad.status_code == 422 and "47-2111.00" in bad.get_data(as_text=True)
    with app.app_context():
        names = db.session.scalars(
            db.select(Occupation.name).where(Occupation.sponsor_id == staff.sponsor_id)
        ).all()
    assert names.count("Roofer") == 1 and "Tiler" not in names


def test_every_new_sponsor_starts_with_real_occupations(app, make_sponsor):
    sponsor_id = make_sponsor()
    with app.app_context():
        codes = db.session.execute(
            db.select(Occupation.name, Occupation.rapids_code, Occupation.onet_code).where(
                Occupation.sponsor_id == sponsor_id
            )
        ).all()
    assert ("Electrician", "0159", "47-2111.00") in codes and len(codes) >= 5


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(max_size=400))
def test_any_name_is_saved_or_refused_never_a_500(app, staff, name):
    before = org_count(app)
    response = staff.post("/partners/providers/new", {"name": name}, htmx=True)
    assert response.status_code in (200, 422)
    assert org_count(app) == before + (1 if response.status_code == 200 else 0)
