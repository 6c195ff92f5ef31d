"""Clear state left behind by a server that stopped without cleaning up.

Run before serving (``make run``; the compose stack's ``migrate`` service, again at
every ``make deploy-up``). What is stale is decided by liveness, not by the settings:

* No server process is alive: no ``LiveNode`` row beats (every process writes its row
  from its start, with the in-memory channel layer too). Every row, fresh or stale, is
  watched for ``CONFIRM_BEATS`` heartbeats: a server killed just before this restart
  left its row fresh but never beats again, and a running server's row is stale after a
  database outage until its next beat. Then everything live is stale. Presence rows, live-stream
  rows and ``is_streaming`` flags describe connections that no longer exist, and partial
  recordings are finalized and saved. The fast path at a single server's restart.
* Some process is alive (it may be serving a stream right now): only what the processes'
  own sweeps would end goes. Streams whose process stopped beating are ended (their
  recordings saved), dead processes' placement rows and the presence rows of their
  channel prefix are removed (channels-redis names: the in-memory layer's name no
  process, so those stay until the next full clear), and spool files no live stream
  writes are saved.

The command is no process itself: it has no ``LiveNode`` row, and every fresh row it
finds is another process's.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from streams.liveness import clear_dead_streams, recover_orphan_spool, running_nodes
from streams.node import DEAD_AFTER_BEATS, SPOOL_IDLE_BEATS
from streams.services import clear_stale_streams
from users.presence import clear_stale_connections

CONFIRM_BEATS = 1.5
"""How long a fresh ``LiveNode`` row is watched for a new beat before its process is taken
for dead (killed moments ago), in heartbeats."""


class Command(BaseCommand):
    help = "Clear presence and live-stream state left by a previous server run."

    def handle(self, *args: Any, **options: Any) -> None:
        beat = settings.STREAM_HEARTBEAT_S
        alive = running_nodes(confirm_s=CONFIRM_BEATS * beat, poll_s=min(1.0, beat / 4))
        if alive:
            streams = clear_dead_streams(DEAD_AFTER_BEATS * beat)
            recovered = recover_orphan_spool(SPOOL_IDLE_BEATS * beat)
            self.stdout.write(
                f"{alive} server processes are running: ended {streams} streams of "
                f"stopped processes; recovered {recovered} partial recordings"
            )
            return
        sockets = clear_stale_connections()
        streams, recovered = clear_stale_streams()
        self.stdout.write(
            f"cleared {sockets} presence rows, {streams} live streams; "
            f"recovered {recovered} partial recordings"
        )
