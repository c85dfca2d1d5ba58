"""suara import's reading and checking of rows (services/intake/importer.py): no broker."""

import json

from services.intake import importer


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_jsonl_and_csv_rows_become_feedback_submit_commands_marked_imported(tmp_path):
    jsonl = write(
        tmp_path,
        "old.jsonl",
        json.dumps(
            {
                "source": "lapor",
                "external_id": 7,
                "text": "Jalan rusak di Medono",
                "submitted_at": "2025-03-01T08:00:00+07:00",
                "category": "roads",
                "kelurahan": "Medono",
            }
        )
        + "\n\n",
    )
    csv_file = write(
        tmp_path,
        "old.csv",
        "external_id,text,submitted_at,lat,lon\n"
        "A-1,Banjir rob di Bandengan,2025-01-02T03:04:05Z,-6.87,109.67\n",
    )
    sent: list[dict] = []
    outcome = importer.run(jsonl, lambda b: sent.append(json.loads(b)))
    outcome_csv = importer.run(csv_file, lambda b: sent.append(json.loads(b)), "sipadu")
    assert (outcome.published, outcome_csv.published) == (1, 1)
    first, second = sent
    assert first["imported"] is True and first["external_id"] == "7"
    assert first["location"] == {"kelurahan": "Medono"} and first["category"] == "roads"
    assert first["submitted_at"] == "2025-03-01T08:00:00+07:00"
    assert second["source"] == "sipadu" and second["location"] == {"lat": -6.87, "lon": 109.67}


def test_bad_rows_are_reported_with_their_line_numbers_and_nothing_of_them_is_sent(tmp_path):
    path = write(
        tmp_path,
        "mixed.jsonl",
        "\n".join(
            [
                json.dumps({"source": "lapor", "external_id": "1", "text": "Sampah numpuk"}),
                json.dumps({"source": "lapor", "external_id": "2"}),  # no text
                "{not json",
                json.dumps(
                    {
                        "source": "lapor",
                        "external_id": "4",
                        "text": "Air keruh",
                        "category": "volcano",
                    }
                ),
                json.dumps(
                    {
                        "source": "lapor",
                        "external_id": "5",
                        "text": "Lampu mati",
                        "submitted_at": "2999-01-01T00:00:00Z",
                    }
                ),
            ]
        ),
    )
    sent: list[bytes] = []
    outcome = importer.run(path, sent.append)
    assert outcome.read == 5 and outcome.published == 1 and len(sent) == 1
    assert [line for line, _ in outcome.skipped] == [2, 3, 4, 5]
    reasons = dict(outcome.skipped)
    assert "text" in reasons[2] and "not JSON" in reasons[3]
    assert "category" in reasons[4] and "future" in reasons[5]
    assert "line 3" in outcome.summary()
