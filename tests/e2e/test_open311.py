"""Open311 GeoReport v2 on intake (issue 10): every endpoint in JSON and XML, every JSON
answer validated against the GeoReport v2 JSON Schemas, errors as the spec's arrays, and an
outside GeoReport client from PyPI (georeport) reading what a form POST created."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
from georeport import GeoReport

from tests.helpers import wait_for
from tests.support import open311 as schemas
from tests.support.client import API_KEY

ROOT = "/open311/v2"
BPBD = {"X-API-Key": "bpbd-secret"}
CITIZEN = {"email": "siti.aminah@example.id", "first_name": "Siti", "last_name": "Aminah"}


def get(client, path, **params):
    return client.http.get(client.url("intake", ROOT + path), params=params, timeout=10)


def post(client, fmt="json", **form):
    return client.http.post(client.url("intake", f"{ROOT}/requests.{fmt}"), data=form, timeout=10)


def valid(schema: str, document) -> None:
    problems = schemas.errors(schema, document)
    assert not problems, problems


def xml(response) -> ET.Element:
    assert response.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(response.content)


def assert_error(response, status: int, fmt: str = "json") -> list[str]:
    assert response.status_code == status, response.text
    if fmt == "xml":
        root = xml(response)
        assert root.tag == "errors"
        codes = [e.findtext("code") for e in root.findall("error")]
        assert codes and set(codes) == {str(status)}
        return [e.findtext("description") for e in root.findall("error")]
    body = response.json()
    assert isinstance(body, list) and body
    assert {e["code"] for e in body} == {status} and all(e["description"] for e in body)
    return [e["description"] for e in body]


def city_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timedelta(hours=7), value
    return parsed


def test_the_shared_schemas_are_the_ones_we_validate_with():
    if not schemas.SHARED.is_dir():
        pytest.skip(f"no shared folder at {schemas.SHARED}")
    for path in schemas.SHARED.glob("*.json"):
        assert (schemas.SCHEMAS / path.name).read_bytes() == path.read_bytes(), path.name


def test_discovery_services_and_definitions_in_json_and_xml(client):
    discovery = get(client, "/discovery.json").json()
    (endpoint,) = discovery["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"].endswith("/open311/v2")
    assert xml(get(client, "/discovery.xml")).find("endpoints/endpoint/specification") is not None

    services = get(client, "/services.json").json()
    valid("services.json", services)
    codes = {s["service_code"]: s for s in services}
    assert len(codes) == 15 and codes["flooding"]["metadata"] is True
    assert codes["flooding"]["group"] == "bencana" and "rob" in codes["flooding"]["keywords"]
    root = xml(get(client, "/services.xml"))
    assert root.tag == "services" and len(root.findall("service")) == 15
    assert root.find("service/metadata").text in ("true", "false")

    definition = get(client, "/services/flooding.json").json()
    valid("service-definition.json", definition)
    depth = {a["code"]: a for a in definition["attributes"]}["water_depth"]
    assert (
        depth["datatype"] == "singlevaluelist"
        and {"key": "knee", "name": "Selutut"} in depth["values"]
    )
    root = xml(get(client, "/services/flooding.xml"))
    assert root.tag == "service_definition"
    assert root.find("attributes/attribute/values/value/key") is not None
    assert get(client, "/services/waste.json").json()["attributes"] == []

    assert_error(get(client, "/services/dragons.json"), 404)
    assert_error(get(client, "/services/dragons.xml"), 404, "xml")
    assert_error(get(client, "/services.yaml"), 404)
    assert_error(get(client, "/services.json", jurisdiction_id="jakarta.go.id"), 404)
    assert get(client, "/services.json", jurisdiction_id="pekalongankota.go.id").status_code == 200


def test_a_form_post_becomes_a_feedback_readable_in_json_and_xml_without_personal_data(client):
    assert_error(post(client, service_code="flooding", lat="-6.88", long="109.67"), 403)
    wrong_key = post(client, "xml", api_key="nope", service_code="flooding", address_string="x")
    assert_error(wrong_key, 403, "xml")
    problems = assert_error(post(client, api_key=API_KEY, lat="-100", description="ab"), 400)
    assert any(p.startswith("service_code") for p in problems)
    assert any(p.startswith("lat") for p in problems)
    assert any(p.startswith("description") for p in problems)
    bad_attribute = post(
        client,
        api_key=API_KEY,
        service_code="flooding",
        address_string="Jl. Sleko",
        **{"attribute[water_depth]": "ocean", "attribute[colour]": "red"},
    )
    problems = assert_error(bad_attribute, 400)
    assert any("water_depth" in p for p in problems) and any("colour" in p for p in problems)
    as_json = client.http.post(
        client.url("intake", ROOT + "/requests.json"),
        json={"api_key": API_KEY, "service_code": "flooding"},
        timeout=10,
    )
    assert_error(as_json, 400)

    created = post(
        client,
        api_key=API_KEY,
        service_code="flooding",
        lat="-6.876543",
        long="109.674321",
        address_string="Jl. Sleko Gg. 3 No. 7",
        description="Rob masuk rumah warga sejak subuh, hubungi 0812-3456-7890",
        phone="0812-3456-7890",
        **CITIZEN,
        **{"attribute[water_depth]": "knee"},
    )
    assert created.status_code == 201, created.text
    ((answer),) = created.json()
    request_id = answer["service_request_id"]
    assert isinstance(request_id, str) and answer["service_notice"]

    # it is a feedback like any other: channel open311, the service code taken as the category
    fb = client.wait_status(request_id)
    assert (fb["channel"], fb["category"], fb["department_id"]) == ("open311", "flooding", "bpbd")

    one = get(client, f"/requests/{request_id}.json")
    valid("requests.json", one.json())
    (view,) = one.json()
    assert (view["service_request_id"], view["status"], view["service_code"]) == (
        request_id,
        "open",
        "flooding",
    )
    assert view["agency_responsible"] == "BPBD" and view["service_name"] == "Banjir & Rob"
    assert (view["lat"], view["long"]) == (-6.877, 109.674)  # about 110 m: no home pinned
    city_time(view["requested_datetime"]), city_time(view["expected_datetime"])
    root = xml(get(client, f"/requests/{request_id}.xml"))
    assert root.tag == "service_requests"
    assert root.find("request/service_request_id").text == request_id
    for response in (one, get(client, f"/requests/{request_id}.xml")):
        for personal in ("Siti", "Aminah", "siti.aminah", "3456-7890", "Sleko"):
            assert personal not in response.text
    tokens = get(client, f"/tokens/{request_id}.json").json()
    assert tokens == [{"service_request_id": request_id, "token": request_id}]
    assert_error(get(client, "/tokens/SU-ZZZZZZZZZZ.json"), 404)
    assert_error(get(client, "/requests/SU-ZZZZZZZZZZ.json"), 404)
    assert_error(get(client, "/requests/SU-ZZZZZZZZZZ.xml"), 404, "xml")


def test_requests_are_listed_by_id_code_status_window_and_page(client):
    ids = []
    for n in range(3):
        r = post(
            client,
            api_key=API_KEY,
            service_code="streetlights",
            address_string=f"Gang Melati {n}",
            description=f"Lampu PJU mati di gang Melati nomor {n}",
            **{"attribute[pole_number]": f"PJU-{n}"},
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()[0]["service_request_id"])
    by_id = get(client, "/requests.json", service_request_id=",".join(ids)).json()
    valid("requests.json", by_id)
    assert [r["service_request_id"] for r in by_id] == ids
    listed = get(client, "/requests.json", service_code="streetlights", status="open").json()
    valid("requests.json", listed)
    assert set(ids) <= {r["service_request_id"] for r in listed}
    assert {r["service_code"] for r in listed} == {"streetlights"}
    times = [r["requested_datetime"] for r in listed]
    assert times == sorted(times, reverse=True)  # newest first
    page_1 = get(client, "/requests.json", service_code="streetlights", page_size="2").json()
    page_2 = get(client, "/requests.json", service_code="streetlights", page_size="2", page="2")
    assert len(page_1) == 2 and not {r["service_request_id"] for r in page_1} & {
        r["service_request_id"] for r in page_2.json()
    }
    long_ago = get(
        client,
        "/requests.json",
        start_date="2020-01-01T00:00:00+07:00",
        end_date="2020-02-01T00:00:00+07:00",
    )
    assert long_ago.status_code == 200 and long_ago.json() == []
    assert len(xml(get(client, "/requests.xml", service_request_id=ids[0])).findall("request")) == 1
    problems = assert_error(
        get(
            client,
            "/requests.json",
            status="fixed",
            start_date="2026-01-01T00:00:00Z",
            end_date="2026-12-01T00:00:00Z",
            page_size="5000",
            service_request_id="not-an-id",
        ),
        400,
    )
    assert len(problems) == 4


def test_a_resolved_case_is_closed_with_its_notes_and_in_the_updates_feed(client):
    created = post(
        client,
        api_key=API_KEY,
        service_code="flooding",
        address_string="Kelurahan Panjang Wetan",
        description="Genangan rob di jalan depan SD Panjang Wetan, anak-anak sulit lewat",
    )
    request_id = created.json()[0]["service_request_id"]
    client.wait_status(request_id)
    for status, note in (("acknowledged", None), ("in_progress", "Tim menuju lokasi")):
        assert client.move(request_id, BPBD, status=status, note=note).status_code == 200
    done = client.move(request_id, BPBD, status="resolved", note="Pompa dipasang, air surut")
    assert done.status_code == 200, done.text

    (view,) = get(client, f"/requests/{request_id}.json", extensions="true").json()
    valid("request.json", view)
    assert (view["status"], view["status_notes"]) == ("closed", "Pompa dipasang, air surut")
    assert view["extended_status"] == "resolved"
    assert [n["status"] for n in view["notes"]] == ["acknowledged", "in_progress", "resolved"]
    closed = get(client, "/requests.json", status="closed", service_code="flooding").json()
    assert request_id in {r["service_request_id"] for r in closed}

    feed = get(client, "/servicerequestupdates.json").json()
    mine = [u for u in feed if u["service_request_id"] == request_id]
    assert [u["extended_status"] for u in mine] == ["acknowledged", "in_progress", "resolved"]
    assert mine[-1]["status"] == "closed" and mine[-1]["description"] == "Pompa dipasang, air surut"
    root = xml(get(client, "/servicerequestupdates.xml"))
    assert root.tag == "service_request_updates" and root.findall("request_update")
    assert_error(get(client, "/servicerequestupdates.json", start_date="yesterday"), 400)


@pytest.mark.parametrize("output_format", ["json", "xml"])
def test_an_outside_georeport_client_reads_the_city(client, output_format):
    created = post(
        client,
        api_key=API_KEY,
        service_code="roads",
        lat="-6.8891",
        long="109.6753",
        description="Jalan berlubang besar di Jl. Hayam Wuruk, bahaya untuk motor",
        **{"attribute[hazard_size]": "large"},
    )
    request_id = created.json()[0]["service_request_id"]
    city = GeoReport(client.url("intake", ROOT), output_format=output_format)
    services = city.get_service_list()
    assert "roads" in {s["service_code"] for s in services}
    definition = city.get_service_definition("roads")
    assert definition["service_code"] == "roads"
    wait_for(lambda: client.feedback(request_id)["status"] in ("categorized", "in_review"))
    found = city.get_service_request(request_id)
    assert (found["service_request_id"], found["service_code"]) == (request_id, "roads")
    listed = city.get_service_requests(service_request_id=request_id)
    listed = listed if isinstance(listed, list) else [listed]  # xmltodict: one is a dict
    assert [r["service_request_id"] for r in listed] == [request_id]
