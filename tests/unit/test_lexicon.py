"""The language data files (services/categorization/data/) and their loader: good files,
malformed lines, duplicates, and the model version that covers the files' bytes."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from services.categorization import language, lexicon, normalize, taxonomy
from services.categorization.features import PREFIXES
from services.categorization.lexicon import LexiconError

ROOT = Path(__file__).resolve().parents[2]


def folder(tmp_path, **files: str) -> Path:
    """A fresh lexicon folder with `files` (name with "_" for "."): text as given."""
    directory = tmp_path / f"lexicon{len(list(tmp_path.iterdir()))}"
    directory.mkdir()
    for name, text in files.items():
        (directory / name.replace("_tsv", ".tsv")).write_text(text, encoding="utf-8")
    return directory


def test_a_mapping_skips_comments_and_blank_lines_and_keeps_file_order(tmp_path):
    d = folder(tmp_path, m_tsv="# header\n\ngk\ttidak\n  # indented comment\ntrims\tterima kasih\n")
    assert lexicon.mapping("m.tsv", directory=d) == {"gk": "tidak", "trims": "terima kasih"}
    assert list(lexicon.mapping("m.tsv", directory=d)) == ["gk", "trims"]


def test_fields_lose_surrounding_spaces_and_windows_line_ends(tmp_path):
    d = folder(tmp_path, m_tsv="gk \t tidak\r\nyg\tyang\r\n")
    assert lexicon.mapping("m.tsv", directory=d) == {"gk": "tidak", "yg": "yang"}


def test_groups_keep_the_allowed_order_and_let_an_entry_be_in_two(tmp_path):
    d = folder(tmp_path, g_tsv="b\tdua\na\tsatu\nb\tsatu\n")
    assert lexicon.groups("g.tsv", ("a", "b", "c"), directory=d) == {
        "a": ("satu",),
        "b": ("dua", "satu"),
        "c": (),
    }


def test_phrases_only_where_allowed(tmp_path):
    d = folder(tmp_path, g_tsv="roads\tjalan rusak\n")
    assert lexicon.groups("g.tsv", ("roads",), phrases=True, directory=d) == {
        "roads": ("jalan rusak",)
    }
    with pytest.raises(LexiconError, match=r"g\.tsv:1: entry 'jalan rusak' is not .* word"):
        lexicon.groups("g.tsv", ("roads",), directory=d)


def test_words_are_one_column(tmp_path):
    d = folder(tmp_path, w_tsv="# prefixes\ndi\nter\n")
    assert lexicon.words("w.tsv", directory=d) == ("di", "ter")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gk\ttidak\nyg yang\n", r"m\.tsv:2: expected 2 column\(s\) separated by one tab, found 1"),
        ("gk\t\ttidak\n", r"m\.tsv:1: expected 2 column\(s\) separated by one tab, found 3"),
        ("gk\ttidak\nGk\ttidak\n", r"m\.tsv:2: key 'Gk' is not lowercase ASCII word"),
        ("gk\ttidak\nga k\ttidak\n", r"m\.tsv:2: key 'ga k' is not lowercase ASCII word"),
        ("gk\t\n", r"m\.tsv:1: value '' is not lowercase ASCII words"),
        ("gk\ttidak  ada\n", r"m\.tsv:1: value 'tidak  ada' is not lowercase ASCII words"),
        ("gk\ttídak\n", r"m\.tsv:1: value 'tídak' is not lowercase ASCII words"),
        ("# dup\ngk\ttidak\n\ngk\tbukan\n", r"m\.tsv:4: 'gk' is already on line 2"),
    ],
)
def test_a_malformed_mapping_names_the_file_and_the_line(tmp_path, text, message):
    d = folder(tmp_path, m_tsv=text)
    with pytest.raises(LexiconError, match=message):
        lexicon.mapping("m.tsv", directory=d)


def test_a_duplicate_word_an_unknown_group_and_a_duplicate_entry_are_errors(tmp_path):
    d = folder(
        tmp_path, w_tsv="di\nter\ndi\n", g_tsv="jv\tora\njw\tora\n", h_tsv="jv\tora\njv\tora\n"
    )
    with pytest.raises(LexiconError, match=r"w\.tsv:3: 'di' is already on line 1"):
        lexicon.words("w.tsv", directory=d)
    with pytest.raises(LexiconError, match=r"g\.tsv:2: unknown group 'jw' \(expected one of: id, "):
        lexicon.groups("g.tsv", ("id", "jv", "en"), directory=d)
    with pytest.raises(LexiconError, match=r"h\.tsv:2: 'ora' is already in 'jv' on line 1"):
        lexicon.groups("h.tsv", ("id", "jv", "en"), directory=d)


def test_a_missing_file_or_folder_and_bytes_that_are_not_utf8(tmp_path):
    d = folder(tmp_path, m_tsv="gk\ttidak\n")
    (d / "bad.tsv").write_bytes(b"gk\ttidak\nyg\tyang\xff\n")
    with pytest.raises(LexiconError, match=r"bad\.tsv:2: not UTF-8"):
        lexicon.mapping("bad.tsv", directory=d)
    with pytest.raises(LexiconError, match=r"other\.tsv: missing"):
        lexicon.mapping("other.tsv", directory=d)
    with pytest.raises(LexiconError, match="no such lexicon folder"):
        lexicon.mapping("m.tsv", directory=tmp_path / "nowhere")


def test_a_folder_is_read_once_so_what_is_parsed_is_what_is_digested(tmp_path):
    d = folder(tmp_path, m_tsv="gk\ttidak\n")
    before = lexicon.digest(d)
    assert lexicon.mapping("m.tsv", directory=d) == {"gk": "tidak"}
    (d / "m.tsv").write_text("gk\tbukan\n")
    assert lexicon.mapping("m.tsv", directory=d) == {"gk": "tidak"}
    assert lexicon.digest(d) == before


def test_the_digest_covers_every_file_by_name_and_bytes(tmp_path):
    base = {"a_tsv": "gk\ttidak\n", "b_tsv": "yg\tyang\n"}
    same = lexicon.digest(folder(tmp_path, **base))
    assert lexicon.digest(folder(tmp_path, **base)) == same
    assert lexicon.digest(folder(tmp_path, **{**base, "b_tsv": "yg\tyg\n"})) != same
    assert lexicon.digest(folder(tmp_path, **{**base, "b_tsv": "# note\nyg\tyang\n"})) != same
    renamed = {"a_tsv": "gk\ttidak\n", "c_tsv": "yg\tyang\n"}
    assert lexicon.digest(folder(tmp_path, **renamed)) != same
    added = {**base, "urgency.yaml": "rules: []\n"}
    assert lexicon.digest(folder(tmp_path, **added)) != same


def test_suara_lexicon_dir_points_at_another_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("SUARA_LEXICON_DIR", raising=False)
    assert lexicon.default_dir() == lexicon.DATA_DIR
    monkeypatch.setenv("SUARA_LEXICON_DIR", str(tmp_path))
    assert lexicon.default_dir() == tmp_path.resolve()


# The shipped files


def test_every_shipped_file_says_what_it_is_in_a_header():
    for path in sorted(lexicon.DATA_DIR.glob("*.tsv")):
        assert path.read_text(encoding="utf-8").startswith("# "), path.name


def test_the_shipped_data_is_what_the_modules_use():
    assert normalize.SLANG["gk"] == "tidak" and len(normalize.SLANG) >= 290
    assert normalize.ENGLISH["pothole"] == "lubang" and len(normalize.ENGLISH) >= 640
    assert {"dua", "beberapa", "0"} <= normalize._KALI_AS_TIMES_BEFORE
    assert normalize._KALI_AS_TIMES_AFTER == {"ini", "lipat", "ya"}
    assert set(language.MARKERS) == set(language.LANGUAGES)
    assert {"ora", "mboten"} <= language.MARKERS["jv"]
    assert set(taxonomy.KEYWORDS) == set(taxonomy.CATEGORY_IDS)
    assert all(taxonomy.KEYWORDS.values())
    assert "jalan rusak" in taxonomy.KEYWORDS["roads"]
    assert PREFIXES[:3] == ("di", "ter", "ber")


def test_no_word_list_is_left_in_the_modules():
    """Language data lives in data/ (urgency rules in data/urgency.yaml)."""
    package = ROOT / "services" / "categorization"
    for path in package.glob("*.py"):
        source = path.read_text()
        assert '""".split()' not in source, path.name
        assert not re.search(r'frozenset\(\s*"[^"]*"\.split', source), path.name


# The model version covers the data files

TRAIN_TINY = """
import json, sys
from datetime import UTC, datetime
from services.categorization import corpus, normalize
from services.categorization.training import train
examples = {}
for text, category in corpus.train_examples():
    if len(examples.setdefault(category, [])) < 6:
        examples[category].append((text, category))
model = train([e for group in examples.values() for e in group],
              trained_at=datetime(2025, 1, 1, tzinfo=UTC))
print(json.dumps({"version": model.version, "gk": normalize.normalize("gk")}))
"""


def train_tiny(data_dir: Path | None) -> dict:
    """The version of a model trained on a tiny corpus, in a process that reads `data_dir`."""
    env = {k: v for k, v in os.environ.items() if k != "SUARA_LEXICON_DIR"}
    if data_dir is not None:
        env["SUARA_LEXICON_DIR"] = str(data_dir)
    done = subprocess.run(
        [sys.executable, "-c", TRAIN_TINY],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.splitlines()[-1])


def test_a_changed_lexicon_line_changes_the_model_version(tmp_path):
    shipped = train_tiny(None)
    copy = tmp_path / "data"
    shutil.copytree(lexicon.DATA_DIR, copy)
    assert train_tiny(copy) == shipped  # same bytes, same version
    slang = copy / "slang.tsv"
    slang.write_text(slang.read_text().replace("gk\ttidak\n", "gk\tbukan\n"))
    changed = train_tiny(copy)
    assert changed["gk"] == "bukan"  # the edited copy is what the process used
    assert changed["version"] != shipped["version"]


def test_the_concept_table_is_checked(tmp_path):
    (tmp_path / "t.tsv").write_text("# c\nsaluran\tgot gorong_gorong\n~mampet\tmampet\n")
    assert lexicon.concept_table("t.tsv", directory=tmp_path) == [
        ("saluran", ("got", "gorong_gorong")),
        ("~mampet", ("mampet",)),
    ]
    for line, message in (("saluran\tGot\n", r"t.tsv:1: word 'Got'"), ("saluran\t \n", "no words")):
        folder = tmp_path / str(len(line))  # a folder is read once per process
        folder.mkdir()
        (folder / "t.tsv").write_text(line)
        with pytest.raises(LexiconError, match=message):
            lexicon.concept_table("t.tsv", directory=folder)
