"""The parts list's sentences agree with their counts ("1 part passes", not "1 parts pass")."""

from app.explorer.parts import selection_sentence


def test_one_part_reads_in_the_singular():
    assert selection_sentence(1, 1, 1) == (
        "**1 part** passes through the selection; it is drawn in orange."
    )


def test_many_parts_say_how_many_are_listed_and_drawn():
    assert selection_sentence(1_204, 200, 20) == (
        "**1,204 parts** pass through the selection (listing 200); "
        "the newest 20 are drawn in orange."
    )


def test_an_empty_selection_says_so():
    assert selection_sentence(0, 0, 0) == "No part passes through the selection."
