"""Whitespace tokenizer that adds a Dutch Snowball stem as each token's lemma.

Without pretrained Dutch embeddings (none can be downloaded here) the word features are exact
words, so "slaapt", "slapen" and "slaap" look unrelated. With ``use_lemma`` (the default) the
word CountVectorsFeaturizer counts stems instead, which lets a few examples per topic generalise.
"""

from __future__ import annotations

from functools import lru_cache

import snowballstemmer
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message

_STEMMER = snowballstemmer.stemmer("dutch")


@lru_cache(maxsize=100_000)
def stem(word: str) -> str:
    return str(_STEMMER.stemWord(word.lower()))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class DutchStemmingTokenizer(WhitespaceTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        tokens: list[Token] = super().tokenize(message, attribute)
        for token in tokens:
            token.lemma = stem(token.text)
        return tokens
