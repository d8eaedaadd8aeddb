"""Small SQL helpers every domain uses."""


def escape_like(text):
    """`text` with LIKE's wildcards escaped (use with escape="\\\\"), so user input matches literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
