"""The tokenizer copes with more distinct characters than its vocabulary holds, down to SentencePiece's floor."""

import pytest
from conftest import web_docs

from train.data.tokenizer import MIN_COVERAGE, RESERVED_IDS, character_coverage
from train.errors import ConfigError


@pytest.fixture(scope="module")
def lines() -> list[str]:
    """Real multilingual text: the sample WARC's pages, the Universal Declaration of Human Rights in some 370
    languages and the English Python docs."""
    return [d["text"] for d in web_docs()]


def test_coverage_is_kept_when_the_characters_fit(lines):
    assert len(set("".join(lines))) > 1000  # many scripts: a small vocabulary cannot give each its own piece
    assert character_coverage(lines, 100_000, 0.9995) == 0.9995


def test_a_small_vocabulary_lowers_coverage_but_not_below_sentencepiece_floor(lines):
    for vocab in (1100, 2000):  # covering 99.95% of these pages takes 2,729 characters; 98% takes 775
        coverage = character_coverage(lines, vocab, 0.9995)
        assert MIN_COVERAGE <= coverage < 0.9995, vocab


def test_a_vocabulary_too_small_for_the_floor_names_the_key(lines):
    with pytest.raises(ConfigError, match=r"tokenizer.vocab_size.*use at least"):
        character_coverage(lines, RESERVED_IDS + 20, 0.9995)
