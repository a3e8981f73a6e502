"""The one gate for hostile text: nothing a push carries can drive a terminal."""

from mergecoord.untrusted import printable


def test_plain_text_passes_unchanged():
    assert printable("sprint/optimize-vector-search") == "sprint/optimize-vector-search"
    assert printable("Athena Ü 雅典娜") == "Athena Ü 雅典娜"


def test_escape_sequences_osc_and_c1_are_shown_not_sent():
    shown = printable("sprint/\x1b]0;pwned\x07x\x1b[2J\x9b31m\x7f")
    assert shown == "sprint/\\x1b]0;pwned\\x07x\\x1b[2J\\x9b31m\\x7f"
    assert not any(ord(c) < 0x20 or 0x7f <= ord(c) <= 0x9f for c in shown)


def test_bytes_that_are_not_utf8_are_shown_byte_for_byte():
    assert printable(b"caf\xe9/\xff.py") == "caf\\xe9/\\xff.py"
    assert printable("caf\udce9.py") == "caf\\xe9.py"      # surrogateescape-decoded path


def test_invisible_and_direction_characters_are_visible():
    assert printable("a\u202eb\u200bc\u2028d\u00a0e") == "a\\u202eb\\u200bc\\u2028d\\xa0e"


def test_newlines_kept_only_when_asked():
    assert printable("one\ntwo\tthree\r") == "one\\ntwo\\tthree\\r"
    assert printable("one\ntwo\tthree\r\x1b", multiline=True) == "one\ntwo\tthree\\r\\x1b"
