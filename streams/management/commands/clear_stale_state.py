"""Clear state left behind by a server that stopped without cleaning up.

Run at server start (``make run`` does), before any client connects: presence
rows, live-stream rows and ``is_streaming`` flags describe connections that no
longer exist, and partial recordings are finalized and saved.
"""

from typing import Any

from django.core.management.base import BaseCommand

from streams.services import clear_stale_streams
from users.presence import clear_stale_connections


class Command(BaseCommand):
    help = "Clear presence and live-stream state left by a previous server run."

    def handle(self, *args: Any, **options: Any) -> None:
        sockets = clear_stale_connections()
        streams, recovered = clear_stale_streams()
        self.stdout.write(
            f"cleared {sockets} presence rows, {streams} live streams; "
            f"recovered {recovered} partial recordings"
        )
