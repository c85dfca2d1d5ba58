"""The one taxonomy every service reads (shared/data/taxonomy.yaml) and its checks."""

import pytest

from services.categorization import taxonomy as categorization_taxonomy
from shared import events, taxonomy
from shared.taxonomy import TAXONOMY, TaxonomyError


def test_the_shipped_file_has_every_category_of_the_contract_and_a_department_for_each():
    assert TAXONOMY.category_ids == events.CATEGORY_IDS
    assert len(TAXONOMY.category_ids) == 15
    for c in TAXONOMY.categories:
        assert c.department in TAXONOMY.department_ids
        assert 0 < c.urgent_sla_hours <= c.sla_hours
    assert {"dinas-pupr", "bpbd", "dlh"} <= set(TAXONOMY.department_ids)
    assert TAXONOMY.default_department("flooding").name == "BPBD"


def test_categorization_sees_the_same_categories_and_departments():
    assert categorization_taxonomy.CATEGORY_IDS == TAXONOMY.category_ids
    assert categorization_taxonomy.departments()["roads"] == "Dinas PUPR"
    answer = categorization_taxonomy.as_dicts()
    assert answer[0] == {
        "id": "roads",
        "label_id": "Jalan & Jembatan",
        "label_en": "Roads & bridges",
        "department": "Dinas PUPR",
        "department_id": "dinas-pupr",
    }


def test_a_configured_department_may_be_an_id_a_name_or_one_outside_the_file():
    overrides = {"roads": "bpbd", "waste": "Dinas Perhubungan", "streetlights": "UPT PJU Kota"}
    depts = categorization_taxonomy.departments(overrides)
    assert (depts["roads"], depts["waste"], depts["streetlights"]) == (
        "BPBD",
        "Dinas Perhubungan",
        "UPT PJU Kota",
    )
    assert taxonomy.department_id("UPT PJU Kota") == "upt-pju-kota"
    assert taxonomy.department_id("Dinas Perhubungan") == "dishub"


def test_the_departments_answer_lists_each_with_its_categories_and_sla():
    view = taxonomy.departments_view(TAXONOMY)
    dlh = next(d for d in view if d["id"] == "dlh")
    assert dlh["name"] == "Dinas Lingkungan Hidup"
    assert [c["id"] for c in dlh["categories"]] == ["waste", "environment"]
    assert dlh["categories"][0]["sla_hours"] == 24.0


def valid() -> dict:
    return {
        "departments": [{"id": "bpbd", "name": "BPBD"}],
        "categories": [
            {
                "id": "flooding",
                "label_id": "Banjir",
                "label_en": "Flooding",
                "department": "bpbd",
                "sla_hours": 24,
                "urgent_sla_hours": 2,
            }
        ],
    }


def test_a_valid_document_parses():
    parsed = taxonomy.parse(valid())
    assert parsed.category("flooding").sla_hours == 24.0
    assert parsed.department("bpbd").full_name == "BPBD"


@pytest.mark.parametrize(
    "break_it, message",
    [
        (lambda d: d["categories"][0].update(department="dpu"), "unknown department 'dpu'"),
        (lambda d: d["departments"][0].update(id="BPBD Kota"), "lower-case words joined by -"),
        (lambda d: d["categories"][0].update(sla_hours=0), "positive number of working hours"),
        (lambda d: d["categories"][0].update(sla_hours=True), "positive number of working hours"),
        (lambda d: d["categories"][0].update(urgent_sla_hours=48), "longer than sla_hours"),
        (lambda d: d["categories"][0].pop("label_en"), "label_en must be a non-empty text"),
        (lambda d: d["departments"].append({"id": "bpbd", "name": "x"}), "listed twice: bpbd"),
        (lambda d: d.pop("categories"), "needs departments and categories"),
        (lambda d: d["categories"].append("flooding"), r"categories\[1\]: must be a mapping"),
    ],
)
def test_a_broken_document_is_refused_with_where_and_why(break_it, message):
    doc = valid()
    break_it(doc)
    with pytest.raises(TaxonomyError, match=message):
        taxonomy.parse(doc)


def test_a_file_that_is_not_yaml_is_refused(tmp_path):
    bad = tmp_path / "taxonomy.yaml"
    bad.write_text("departments: [unclosed\n")
    with pytest.raises(TaxonomyError, match="taxonomy.yaml"):
        taxonomy.load(bad)


def test_slugs_are_ascii_words_joined_by_dashes():
    assert taxonomy.slug("Dinas Perdagangan, Koperasi & UKM") == "dinas-perdagangan-koperasi-ukm"
    assert taxonomy.slug("Dinas Pendidikan Ñ") == "dinas-pendidikan-n"
    assert taxonomy.slug("!!!") == "department"
