"""StreamRecording and RecordingJob move to the ``recordings`` app; every row and file stays.

The database keeps both tables and their rows: they are only renamed to the new
app's names (``recordings_streamrecording``, ``recordings_recordingjob``), which
keeps keys, sequences, indexes, the open-job constraint and the job -> recording
foreign key (SQLite >= 3.26 and PostgreSQL rename references with the table).
The models leave this app's migration state here and enter ``recordings``'s in
``recordings/migrations/0001_initial.py``, which depends on this migration and
touches no table. No model of this app refers to a recording.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("streams", "0005_live_node_channel")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.AlterModelTable("StreamRecording", "recordings_streamrecording"),
                migrations.AlterModelTable("RecordingJob", "recordings_recordingjob"),
            ],
            state_operations=[
                migrations.DeleteModel("RecordingJob"),
                migrations.DeleteModel("StreamRecording"),
            ],
        )
    ]
