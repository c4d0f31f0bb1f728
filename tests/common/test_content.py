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
    acceptance = {
        str(case["text"]).strip().lower()
        for path in (ROOT / "tests" / "acceptance").glob("*.yml")
        for case in yaml.safe_load(path.read_text())["cases"]
    }
    assert len(acceptance) >= 400, "the acceptance set holds at least 400 first messages"
    shared = {text for text in examples("nlu") & acceptance if len(text.split()) >= 4}
    assert not shared, "acceptance messages are never trained on (only 'hoi', 'tot ziens' ...)"


def test_an_age_range_picks_the_next_step_that_fits_the_child(tmp_path: Path) -> None:
    (tmp_path / "topics").mkdir()
    good = (ROOT / "content" / "topics" / "slapen.yml").read_text().split("\nby_age:")[0]
    steps = (
        "by_age:\n"
        "  - ages: [0, 3]\n"
        "    next_step: {kind: jgz, text: 'Het consultatiebureau denkt mee.'}\n"
        "  - ages: [4, 11]\n"
        "    next_step: {kind: poh_jeugd, text: 'De POH-Jeugd denkt mee.'}\n"
        "    see_a_person: 'Bel het I&A-team.'\n"
    )
    (tmp_path / "topics" / "slapen.yml").write_text(good.rstrip() + "\n" + steps)
    slapen = topics(tmp_path)["slapen"]

    assert slapen.step_for(2)[0].text == "Het consultatiebureau denkt mee."
    assert slapen.step_for(6) == (slapen.by_age[1].next_step, "Bel het I&A-team.")
    assert slapen.step_for(15) == (slapen.next_step, slapen.see_a_person)  # no range: general
    assert slapen.step_for(None) == (slapen.next_step, slapen.see_a_person)
    (tmp_path / "topics" / "slapen.yml").write_text(
        good.rstrip() + "\n" + steps.replace("[4, 11]", "[3, 11]")
    )
    with pytest.raises(ContentError, match="overlaps"):
        topics(tmp_path)


def test_no_child_of_five_or_older_is_sent_to_the_consultatiebureau() -> None:
    for topic in topics().values():
        for age in range(5, 19):
            step, see_a_person = topic.step_for(age)
            said = f"{step.text} {see_a_person}".lower()
            assert "consultatiebureau" not in said, f"{topic.id}: by_age for a child of {age}"


def test_everyday_answers_carry_no_emergency_number() -> None:
    for topic in topics().values():
        youth = topic.youth
        texts = [topic.answer, *topic.tips, topic.next_step.text, topic.see_a_person]
        texts += [t for s in topic.by_age for t in (s.next_step.text, s.see_a_person or "")]
        texts += [youth.answer, *youth.tips, youth.see_a_person] if youth else []
        assert not any("112" in text for text in texts), topic.id


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
