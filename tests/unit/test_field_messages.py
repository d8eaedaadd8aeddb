"""Form errors name their field and limits; numbers are written one way (1,200)."""

import pytest

from helpdesk.web import field_message, format_number, labelled_message


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("This field is required.", "Subject is required."),
        ("Field cannot be longer than 2000 characters.", "Subject can be at most 2,000 characters."),
        ("Field must be at least 8 characters long.", "Subject needs at least 8 characters."),
        ("Not a valid integer value.", "Subject must be a whole number."),
        ("Number must be between 0 and 1000000.", "Subject must be between 0 and 1,000,000."),
        ("Number must be at least 1.", "Subject must be at least 1."),
        ("Not a valid choice.", "Subject: choose one of the listed options."),
        ("Invalid Choice: could not coerce.", "Subject: choose one of the listed options."),
        ("'x' is not a valid choice for this field.", "Subject: choose from the listed options."),
        ("'x', 'y' are not valid choices for this field.", "Subject: choose from the listed options."),
        (
            "Invalid choice(s): one or more data inputs could not be coerced.",
            "Subject: choose from the listed options.",
        ),
        ("Not a valid date value.", "Subject: enter a date like 2026-12-31."),
        ("Not a valid float value.", "Subject must be a number."),
        ("Field must be between 3 and 1200 characters long.", "Subject must be 3 to 1,200 characters long."),
        ("Choose a category.", "Choose a category."),  # our own messages pass unchanged
    ],
)
def test_generic_messages_name_the_field(error, expected):
    assert field_message(error, "Subject") == expected


def test_a_message_away_from_its_field_names_the_field_once():
    assert labelled_message("This field is required.", "Start") == "Start is required."
    assert (
        labelled_message("Pick a date on or before the end.", "Start")
        == "Start: Pick a date on or before the end."
    )


@pytest.mark.parametrize(
    ("value", "text"), [(1200, "1,200"), (-250, "-250"), (0, "0"), (None, ""), (2.5, "2.5")]
)
def test_numbers_are_formatted_one_way(value, text):
    assert format_number(value) == text
