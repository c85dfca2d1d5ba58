"""Open311 GeoReport v2's pure parts (services/intake/open311.py)."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import feedback, open311
from shared.taxonomy import TAXONOMY
from tests.support import open311 as schemas


def form(**fields) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in fields.items()}


def test_a_form_becomes_a_submission_with_the_chosen_category_and_answers():
    submission = open311.parse_request(
        form(
            service_code="flooding",
            lat="-6.88",
            long="109.67",
            description="Rob masuk rumah",
            email="a@b.id",
            first_name="Siti",
            **{"attribute[water_depth]": "knee", "device_id": "x", "unknown_field": "ignored"},
        ),
        TAXONOMY,
    )
    assert submission == {
        "text": "Rob masuk rumah",
        "location": {"lat": -6.88, "lon": 109.67, "address": None},
        "contact": {"name": "Siti", "email": "a@b.id", "language": "id"},
        "category": "flooding",
        "attributes": {"water_depth": "knee"},
        "media_url": None,
    }


def test_a_request_without_a_description_is_described_by_its_service_and_answers():
    submission = open311.parse_request(
        form(
            service_code="streetlights",
            address_string="Gang 3",
            **{"attribute[pole_number]": "P-7"},
        ),
        TAXONOMY,
    )
    assert submission["text"] == "Penerangan Jalan Umum (pole_number: P-7)"
    assert submission["contact"] is None


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"lat": "1", "long": "2"}, "service_code: required"),
        ({"service_code": "dragons", "lat": "1", "long": "2"}, "not a service"),
        ({"service_code": "roads"}, "location"),
        ({"service_code": "roads", "lat": "1"}, "give both"),
        ({"service_code": "roads", "lat": "nan", "long": "2"}, "lat: a number"),
        ({"service_code": "roads", "lat": "1", "long": "200"}, "long: a number"),
        ({"service_code": "roads", "address_string": "x", "email": "nope"}, "email"),
        ({"service_code": "roads", "address_string": "x", "phone": "call me"}, "phone"),
        ({"service_code": "roads", "address_string": "x", "media_url": "file:///etc"}, "media_url"),
        ({"service_code": "roads", "address_string": "x", "description": "ab"}, "description"),
        ({"service_code": "roads", "address_string": "x" * 301}, "address_string: longer"),
        ({"service_code": ["roads", "water"], "address_string": "x"}, "more than once"),
        (
            {"service_code": "roads", "address_string": "x", "attribute[hazard_size]": "huge"},
            "one of",
        ),
        (
            {"service_code": "water", "address_string": "x", "attribute[outage_since]": "kemarin"},
            "ISO 8601",
        ),
        (
            {"service_code": "waste", "address_string": "x", "attribute[colour]": "red"},
            "no such attribute",
        ),
    ],
)
def test_what_is_wrong_with_a_form_is_said(fields, problem):
    with pytest.raises(open311.Open311Error) as raised:
        open311.parse_request(form(**fields), TAXONOMY)
    assert raised.value.status == 400
    assert any(problem in d for d in raised.value.descriptions), raised.value.descriptions
    assert raised.value.body()[0]["code"] == 400


NOW = datetime(2026, 12, 2, 5, 0, tzinfo=UTC)


def test_the_default_window_is_the_last_90_days_and_longer_ones_are_refused():
    query = open311.parse_query({}, TAXONOMY)
    assert query.window(NOW) == (NOW - timedelta(days=90), NOW)
    start = open311.parse_query({"start_date": "2026-11-01T00:00:00+07:00"}, TAXONOMY)
    assert start.window(NOW)[1] - start.window(NOW)[0] == timedelta(days=90)
    with pytest.raises(open311.Open311Error, match="90 days"):
        open311.parse_query(
            {"start_date": "2026-01-01T00:00:00Z", "end_date": "2026-12-01T00:00:00Z"}, TAXONOMY
        )
    naive = open311.parse_query({"end_date": "2026-12-01T00:00:00"}, TAXONOMY)
    assert naive.end.utcoffset() == timedelta(hours=7)  # no offset: the city's time


def record(**fields) -> dict:
    rec = feedback.new_record(
        {
            "text": "Rob setinggi lutut, hubungi 0812-3456-7890 atau siti@example.id",
            "location": {
                "lat": -6.876543,
                "lon": 109.674321,
                "address": "Jl. Sleko 7",
                "kelurahan": "Panjang Wetan",
                "kecamatan": "Pekalongan Utara",
            },
            "contact": {"name": "Siti", "email": "siti@example.id"},
        },
        channel="open311",
        now=NOW,
    )
    return {**rec, **fields}


def test_a_request_shows_public_fields_only_and_validates_against_the_schema():
    history = [
        {"status": "acknowledged", "at": NOW, "note": "cek", "visibility": "internal"},
        {"status": "resolved", "at": NOW, "note": "Pompa dipasang", "visibility": "public"},
    ]
    view = open311.request_view(
        record(status="resolved", category="flooding", department="BPBD", history=history),
        TAXONOMY,
        extensions=True,
    )
    assert schemas.errors("request.json", view) == []
    assert (view["status"], view["status_notes"], view["extended_status"]) == (
        "closed",
        "Pompa dipasang",
        "resolved",
    )
    assert view["address"] == "Panjang Wetan, Pekalongan Utara, Kota Pekalongan"
    assert (view["lat"], view["long"]) == (-6.877, 109.674)
    assert view["requested_datetime"] == "2026-12-02T12:00:00+07:00"
    dumped = str(view)
    for personal in ("Siti", "siti@", "3456", "Sleko", "cek"):
        assert personal not in dumped
    assert [n["status"] for n in view["notes"]] == ["acknowledged", "resolved"]


def test_xml_has_the_specs_element_names_and_escapes_text():
    body = [{"service_code": "roads", "metadata": False, "keywords": "<b>&", "group": None}]
    root = ET.fromstring(open311.to_xml("services", body))
    service = root.find("service")
    assert (service.findtext("metadata"), service.findtext("keywords")) == ("false", "<b>&")
    assert service.find("group").text is None
    errors = ET.fromstring(open311.to_xml("errors", open311.Open311Error(404, "x").body()))
    assert errors.find("error/code").text == "404"


def test_media_url_points_at_the_cases_first_photo():
    view = open311.request_view(
        record(status="received", media=["M-abc", "M-def"]), TAXONOMY, base_url="https://x.id"
    )
    assert view["media_url"] == "https://x.id/media/M-abc"
    assert schemas.errors("request.json", view) == []
