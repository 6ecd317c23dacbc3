"""The checks on Whisper's output: loops collapsed to one copy with digit runs kept, the prompt
recited back detected, and more words than the audio can hold."""

import re

import pytest

from calls.voice.stt_prompts import DOMAIN_PROMPTS, EXPECTS, PROMPTS, prompt_for
from calls.voice.whisper_guard import (
    collapse_repeats,
    recites_prompt,
    repeats_digit,
    repeats_numbers,
    too_long,
    unsure_digits,
)


@pytest.mark.parametrize(
    ("heard", "kept"),
    [
        ("Спасибо. Спасибо. Спасибо.", "Спасибо."),
        ("205 205 205", "205"),
        ("Thank you. Thank you. Thank you. Thank", "Thank you."),
        ("Romeo, Romeo, Romeo, Romeo", "Romeo,"),
        ("Hello Hello", "Hello"),
        (
            "Phone 067 123 45. Order number 1045. Order number 1045. Order number 1045.",
            "Phone 067 123 45. Order number 1045.",
        ),
        ("I need winter tires. Winter tires. Winter tires.", "I need winter tires."),
        ("You are now unmuted. You are now unm", "You are now unmuted."),
        ("Do you have Michelin? Do you", "Do you have Michelin?"),
        ("Michelin, Miche", "Michelin,"),
    ],
)
def test_a_repeated_phrase_keeps_one_copy(heard, kept):
    assert collapse_repeats(heard) == kept


@pytest.mark.parametrize(
    "heard",
    [
        "0 5 5 5 1 2 3 4 4 4",  # digits read one by one repeat in real numbers
        "0 5 0 5 0 5 0 5 1 2",
        "Winter tires, or maybe summer tires",
        "Two tires. Two",
        "Michelin or Mich",  # not the start of a sentence said before
        "Good. Go",
        "два два два",  # not digits, but a word repeated by a caller reading them
        "067 123 50 50",  # a number group twice is a real phone number's end
        "205/55 R16",
        "No.",
        "",
    ],
)
def test_what_a_caller_says_is_left_alone(heard):
    expected = "два" if heard == "два два два" else heard
    assert collapse_repeats(heard) == expected


def test_a_digit_said_three_times_in_a_row_is_flagged_for_the_full_window():
    assert repeats_digit("7 7 7 7 7 7 7 7 7 7")
    assert repeats_digit("0 6 7 5 5 5 1 2 3 4")
    assert not repeats_digit("0 6 7 5 5 1 2 3 4 4")
    assert not repeats_digit("205 205 205")  # a number, collapsed by collapse_repeats


def test_numbers_looping_with_bent_copies_are_flagged_for_the_full_window():
    # Russian base on "067 360 37 91" in a 2 s margin (the human-voice set).
    assert repeats_numbers("0 67 3 60 37 90 1 0 67 3 63 60 37 90 1 0 67 3 63 60 37 3 37 90 1")
    assert repeats_numbers("205 55 R16, 205 55 R16")
    assert not repeats_numbers("My number is 067 123 45 67, 205/55 R16.")
    assert not repeats_numbers("0 5 0 5 0 5 0 5 1 2")  # digits one by one: repeats_digit's
    assert not repeats_numbers("067 123 50 50")


def test_a_transcript_made_of_the_prompt_is_a_recitation():
    prompt = DOMAIN_PROMPTS["en"]
    assert recites_prompt("Phone 067 123 45. Order number 1045.", prompt)
    assert recites_prompt("Yes. No. Phone 067 123 45 67.", prompt)
    assert recites_prompt("Winter, summer, all-season tires. Yes. No.", prompt)
    # A short prompt said back whole.
    assert recites_prompt("Your name, please?", PROMPTS["en"]["name"])


def test_what_was_said_is_not_a_recitation_even_when_the_prompt_has_it():
    prompt = DOMAIN_PROMPTS["en"]
    assert not recites_prompt("Olena.", prompt)
    assert not recites_prompt("Yes.", prompt)
    assert not recites_prompt("I need four winter tires for my Golf, size 205/55 R16", prompt)
    # A caller who says one of the prompt's examples.
    assert not recites_prompt("205/55 R16", prompt)
    assert not recites_prompt("My number is 067 123 45 67", prompt)
    assert not recites_prompt("Winter, summer, all-season tires.", prompt)
    assert not recites_prompt("anything", None)


def test_more_words_than_the_audio_holds_is_too_long():
    assert too_long("Phone 067 123 45. Order number 1045. Order number 1045.", 0.7)
    assert not too_long("Olena.", 0.7)
    assert not too_long("0 6 7 1 2 3 4 5 6 7", 4.0)


def test_digits_alone_below_whispers_own_confidence_line_are_unsure():
    assert unsure_digits("0 5 0 0", 0.366)
    assert unsure_digits("0.", 0.133)
    assert not unsure_digits("0 5 0 0", 0.7)
    # Words are asked again when they make no sense; only digits slip into a number unnoticed.
    assert not unsure_digits("Два.", 0.2)
    assert not unsure_digits("my number is 5", 0.2)
    assert not unsure_digits("", None)
    assert not unsure_digits("5", None)  # an engine that gives no confidence


def test_every_expected_slot_has_a_prompt_in_every_language_and_a_name_prompt_has_no_digits():
    for language, prompts in PROMPTS.items():
        assert set(prompts) == set(EXPECTS), language
        assert not any(c.isdigit() for c in prompts["name"])
        # Digits one by one: Whisper copies the prompt's grouping and drops digits.
        assert re.search(r"\b0( \d){9}\b", prompts["phone"]), language
    assert prompt_for("en", "no such slot") == PROMPTS["en"]["free"]
    assert prompt_for("xx", "phone") is None
