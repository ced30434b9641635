import pytest
from django.core import signing

from wagtail_newsletter.tokens import InvalidToken, make_token, read_token


def test_token_round_trip():
    assert read_token("confirm", make_token("confirm", 42)) == "42"


def test_token_for_another_purpose_is_rejected():
    with pytest.raises(InvalidToken):
        read_token("unsubscribe", make_token("confirm", 42))


@pytest.mark.parametrize("position", [0, 1, -1, -5])
def test_altered_token_is_rejected(position):
    token = make_token("confirm", 42)
    chars = list(token)
    chars[position] = "A" if chars[position] != "A" else "B"
    with pytest.raises(InvalidToken):
        read_token("confirm", "".join(chars))


def test_token_with_changed_value_is_rejected():
    value, rest = make_token("confirm", 42).split(":", 1)
    with pytest.raises(InvalidToken):
        read_token("confirm", f"43:{rest}")


def test_expired_token_is_rejected():
    signer = signing.TimestampSigner(salt="wagtail_newsletter.confirm")
    old = signer.sign("42")
    with pytest.raises(InvalidToken, match="expired"):
        read_token("confirm", old, max_age=-1)


@pytest.mark.parametrize("junk", ["", "x" * 500, None, "42", "::"])
def test_malformed_token_is_rejected(junk):
    with pytest.raises(InvalidToken):
        read_token("confirm", junk)


def test_unknown_purpose_is_a_programming_error():
    with pytest.raises(ValueError):
        make_token("nope", 1)
