from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from common.content import (
    CONTENT_DIR,
    ContentError,
    IntentLabels,
    intent_labels,
    load_file,
    service_messages,
    topics,
)

ROOT = Path(__file__).resolve().parents[2]


def test_the_shipped_content_passes_its_schema() -> None:
    assert intent_labels().labels
    assert service_messages().get("assistant_unavailable").startswith("Ik ben even niet")


def test_every_intent_in_the_domain_has_a_dutch_label() -> None:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert set(domain["intents"]) <= set(intent_labels().labels)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("version: 1\n", "required field 'labels' is missing"),
        ("version: 1\nlabels: [a, b]\n", "labels: must be a mapping"),
        ("version: 1\nlabels:\n  greet: ''\n", "labels.greet: must be a non-empty text"),
        ("version: een\nlabels: {}\n", "version: must be a whole number"),
        ("version: 1\nlabels: {}\nextra: 2\n", "unknown field(s) extra"),
        ("version: 1\nlabels: {greet: [\n", "is not valid YAML"),
    ],
)
def test_schema_errors_name_the_file_and_the_field(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "intent_labels.yml"
    path.write_text(text)

    with pytest.raises(ContentError) as info:
        load_file(IntentLabels, path)

    assert str(path) in str(info.value)
    assert reason in str(info.value)


def test_missing_service_message_is_reported(tmp_path: Path) -> None:
    (tmp_path / "service_messages.yml").write_text("version: 1\nmessages:\n  empty_message: leeg\n")
    with pytest.raises(ContentError, match="assistant_unavailable is missing"):
        service_messages(tmp_path)
    assert CONTENT_DIR.is_dir()


def test_every_topic_passes_the_schema_and_has_training_and_test_examples() -> None:
    known = topics()
    assert len(known) >= 45

    def keys(folder: str) -> set[str]:
        found = set()
        for path in (ROOT / folder).rglob("*.yml"):
            for block in yaml.safe_load(path.read_text()).get("nlu", []):
                intent = block.get("intent", "")
                if intent.startswith("opvoedvraag/"):
                    found.add(intent.split("/", 1)[1])
        return found

    assert keys("nlu") == set(known), "every topic needs training examples, and the reverse"
    assert keys("tests/nlu") == set(known), "every topic needs held-out test examples"
    bands = {band for topic in known.values() for band in topic.age_bands}
    assert bands == {"0-2", "2-4", "5-12", "12-16", "16-23"}  # every NJI age band is covered


def test_held_out_examples_are_never_training_examples() -> None:
    def examples(folder: str) -> set[str]:
        found = set()
        for path in (ROOT / folder).rglob("*.yml"):
            for block in yaml.safe_load(path.read_text()).get("nlu", []):
                for line in str(block.get("examples", "")).splitlines():
                    if line.strip().startswith("- "):
                        found.add(line.strip()[2:].strip().lower())
        return found

    assert not examples("nlu") & examples("tests/nlu")


def test_a_topic_file_with_wrong_rules_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    good = (ROOT / "content" / "topics" / "slapen.yml").read_text()
    (tmp_path / "topics" / "slaap.yml").write_text(good)
    with pytest.raises(ContentError, match="must equal the file name"):
        topics(tmp_path)
    (tmp_path / "topics" / "slaap.yml").unlink()
    (tmp_path / "topics" / "slapen.yml").write_text(
        good.replace("review_date:", "old: x\nreview_date:")
    )
    with pytest.raises(ContentError, match="unknown field"):
        topics(tmp_path)
