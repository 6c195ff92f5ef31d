"""Clear state left behind by a server that stopped without cleaning up.

Run at server start (``make run`` does), before any client connects. With one
process (the in-memory channel layer, no ``REDIS_URL``) everything live is
stale: presence rows, live-stream rows and ``is_streaming`` flags describe
connections that no longer exist, and partial recordings are finalized and
saved. With a shared channel layer other processes may be serving: only the
streams of processes whose heartbeat stopped are ended, and only spool files
no live stream writes are saved (every process also does this on each beat).
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from streams.node import DEAD_AFTER_BEATS, SPOOL_IDLE_BEATS
from streams.services import clear_dead_streams, clear_stale_streams, recover_orphan_spool
from users.presence import clear_stale_connections


class Command(BaseCommand):
    help = "Clear presence and live-stream state left by a previous server run."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.REDIS_URL:
            beat = settings.STREAM_HEARTBEAT_S
            streams = clear_dead_streams(DEAD_AFTER_BEATS * beat)
            recovered = recover_orphan_spool(SPOOL_IDLE_BEATS * beat)
            self.stdout.write(
                f"several processes may be serving: ended {streams} streams of stopped "
                f"processes; recovered {recovered} partial recordings"
            )
            return
        sockets = clear_stale_connections()
        streams, recovered = clear_stale_streams()
        self.stdout.write(
            f"cleared {sockets} presence rows, {streams} live streams; "
            f"recovered {recovered} partial recordings"
        )
