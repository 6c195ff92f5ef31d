"""Every user name gets its lookup key (``users.models.username_key``), unique.

Accounts made before the key existed may share one (a full-width twin of a name):
the oldest keeps it and is what lookups by name find, as they found it before; the
others keep no key and can still log in with their exact name.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db import migrations, models

import users.models


def _key(username: str) -> str:
    # Frozen copy of users.models.username_key: migrations do not import app code.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


def fill_keys(apps: Any, schema_editor: Any) -> None:
    user_model = apps.get_model("users", "User")
    taken: set[str] = set()
    for user in user_model.objects.order_by("pk").only("pk", "username"):
        key = _key(user.username)
        if key in taken:
            continue
        taken.add(key)
        user_model.objects.filter(pk=user.pk).update(username_key=key)


class Migration(migrations.Migration):
    dependencies = [("users", "0001_initial")]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[("objects", users.models.AccountManager())],
        ),
        migrations.AddField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=150, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="user",
            name="username_key",
            field=models.CharField(editable=False, max_length=150, null=True, unique=True),
        ),
    ]
