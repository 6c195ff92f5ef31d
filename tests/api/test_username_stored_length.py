"""A user name must fit its columns as stored, not as typed: the stored name is NFKC
(which can lengthen it: "㍿" is "株式会社") and ``username_key`` is NFKC plus case folding
("ß" is "ss"), both in varchar(150). Too long a form is refused with a 400 field error at
registration and by ``User.clean`` (the admin's forms), never a 500 or an oversized row."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.conftest import PASSWORD, ApiClient
from users.models import User

pytestmark = pytest.mark.django_db

COLUMN = User._meta.get_field("username").max_length
KEY_COLUMN = User._meta.get_field("username_key").max_length


def register(name: str):
    return ApiClient().post("/api/auth/register/", {"username": name, "password": PASSWORD})


@pytest.mark.parametrize(
    "name",
    [
        "\u337f" * 38,  # 38 typed, 152 stored
        "\u00df" * 76,  # 76 typed and stored, 152 in username_key
        "\u00df" * 150,
    ],
)
def test_a_name_too_long_as_stored_is_a_field_error(name):
    resp = register(name)
    assert resp.status_code == 400, resp.content
    assert resp.json()["errors"]["username"]
    assert not User.objects.exists()


def test_names_that_fit_exactly_are_accepted():
    assert register("\u00df" * (KEY_COLUMN // 2)).status_code == 201
    assert register("\u337f" * (COLUMN // 4)).status_code == 201
    for user in User.objects.all():
        assert len(user.username) <= COLUMN and len(user.username_key) <= KEY_COLUMN


def test_clean_refuses_a_name_too_long_as_stored():
    user = User(username="\u00df" * 76)
    with pytest.raises(ValidationError) as info:
        user.clean()
    assert "username" in info.value.message_dict
