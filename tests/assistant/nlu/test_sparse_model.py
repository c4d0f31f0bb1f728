"""The linear model on its own: Dutch normalisation, stems, and honest probabilities."""

from __future__ import annotations

import numpy as np

from assistant.nlu.sparse_model import SparseModel, normalise, stems

# A small, clearly separable data set in the shape of ours: intents and retrieval topics.
DATA = {
    "greet": ["hallo", "hoi", "goedemorgen", "hey daar", "hallo allemaal", "hoi hoi"],
    "opvoedvraag/slapen": [
        "mijn kind slaapt slecht", "hij wil niet naar bed", "ze wordt elke nacht wakker",
        "doorslapen lukt niet", "slaapproblemen bij mijn peuter", "hoe laat naar bed",
    ],
    "opvoedvraag/eten": [
        "mijn kind eet niks", "hij lust geen groente", "ze wil niet eten aan tafel",
        "kieskeurig eten", "eetproblemen bij mijn peuter", "hoeveel moet een kind eten",
    ],
}  # fmt: skip


def fitted() -> SparseModel:
    texts = [t for examples in DATA.values() for t in examples]
    labels = [label for label, examples in DATA.items() for _ in examples]
    return SparseModel(c=1.0).fit(texts, labels)


def test_normalise_spells_out_chat_language_and_drops_accents_and_punctuation() -> None:
    assert normalise("Mn zoon (6) slaapt ff NIET!") == "mijn zoon 6 slaapt even niet"
    assert normalise("één keer") == "een keer"
    assert normalise("Hallooooo, neeee") == "halloo nee"


def test_stems_join_word_forms() -> None:
    assert stems("slaapt") == stems("slaap")
    assert stems("kinderen") == stems("kinder")


def test_every_label_is_ranked_and_the_probabilities_sum_to_one() -> None:
    model = fitted()

    (ranking,) = model.rank(["mn dochter slaapt zo slecht, ze is steeds wakker"])

    assert ranking[0][0] == "opvoedvraag/slapen"
    assert {label for label, _ in ranking} == set(DATA)
    assert abs(sum(p for _, p in ranking) - 1) < 1e-9
    assert [p for _, p in ranking] == sorted((p for _, p in ranking), reverse=True)


def test_typos_and_compounds_still_find_the_topic() -> None:
    model = fitted()

    best = [ranking[0][0] for ranking in model.rank(["slaapprobleem", "eetprobleempje", "hallooo"])]

    assert best == ["opvoedvraag/slapen", "opvoedvraag/eten", "greet"]


def test_the_temperature_is_fitted_so_clear_cases_are_confident() -> None:
    model = fitted()

    probabilities = model.probabilities(["hoi", "ze wil niet eten"])

    assert model.temperature != 1.0  # fitted on cross-validated scores, not left at the default
    assert np.all(probabilities.max(axis=1) > 0.5)


def test_the_share_of_known_words_tells_gibberish_from_a_question() -> None:
    model = fitted()

    question, gibberish, empty = model.known_share(["mijn kind eet niks", "qwxz blorp", "?!"])

    assert question == 1.0 and gibberish == 0.0 and empty == 0.0


def test_a_label_weight_makes_the_model_lean_towards_that_label() -> None:
    texts = [t for examples in DATA.values() for t in examples]
    labels = [label for label, examples in DATA.items() for _ in examples]
    plain = SparseModel(c=1.0).fit(texts, labels)
    leaning = SparseModel(c=1.0, label_weights={"opvoedvraag/eten": 5.0}).fit(texts, labels)

    def p_eten(model: SparseModel) -> float:
        return dict(model.rank(["mijn kind slaapt en eet slecht"])[0])["opvoedvraag/eten"]

    assert p_eten(leaning) > p_eten(plain)
