"""Recordings made before 0.2.0 count against the quota: fill in their stored size."""

from django.core.files.storage import default_storage
from django.db import migrations


def fill_sizes(apps, schema_editor):  # type: ignore[no-untyped-def]
    recording = apps.get_model("streams", "StreamRecording")
    for rec in recording.objects.filter(size_bytes=0).exclude(file=""):
        total = 0
        for name in (rec.file.name, rec.raw_file.name):
            if name and default_storage.exists(name):
                total += default_storage.size(name)
        if total:
            rec.size_bytes = total
            rec.save(update_fields=["size_bytes"])


class Migration(migrations.Migration):
    dependencies = [("streams", "0002_recordings_library")]

    operations = [migrations.RunPython(fill_sizes, migrations.RunPython.noop)]
