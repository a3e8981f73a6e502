"""Nothing is applied unless it has no conflict markers and parses where we can parse it."""

import pytest

from mergecoord.panel.validate import validate_text


@pytest.mark.parametrize("path,text,reason", [
    ("a.py", "x = 1\n<<<<<<< ours\ny = 2\n=======\ny = 3\n>>>>>>> theirs\n", "conflict markers at line 2"),
    ("a.txt", "fine\n=======\n", "conflict markers at line 2"),
    ("a.py", "def f(:\n    pass\n", "python syntax error line 1"),
    ("a.json", '{"a": 1,}', "json error"),
    ("a.toml", "a = 1\na = 2\n", "toml error"),
])
def test_invalid_texts_are_refused_with_a_reason(path, text, reason):
    found = validate_text(path, text)
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize("path,text", [
    ("a.py", "x = '<<<<<<< not a marker at line start'\n"),
    ("README.md", "Title\n=======\n\ntext\n"),           # a setext heading, not a marker
    ("a.json", '{"a": [1, 2]}'),
    ("a.toml", "[x]\na = 1\n"),
    ("a.go", "package main\n"),                           # not parsed, only marker-checked
])
def test_valid_texts_pass(path, text):
    assert validate_text(path, text) is None
