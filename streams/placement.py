"""Where a new live stream is hosted: the process with the most room.

Pure rules over :class:`NodeLoad` figures (each process's own, live; the
others' from their last heartbeat, see :mod:`streams.services`). The process
that received the offer keeps it unless it is full or *much* busier than
another: forwarding costs a round trip through Redis, and a one-stream
difference is noise between two heartbeats.
"""

from __future__ import annotations

from dataclasses import dataclass

BUSIER_BY_STREAMS = 2
"""Another process with this many more free stream slots takes the offer."""
BEHIND_MS = 50.0
"""An engine further behind real time than this is treated as busy."""


@dataclass(frozen=True)
class NodeLoad:
    """One server process's load, as its heartbeat reports it."""

    channel: str
    streams: int
    listeners: int
    capacity: int
    behind_ms: float = 0.0
    """How far the process's most lagging stream is behind real time."""

    @property
    def room(self) -> int:
        return max(0, self.capacity - self.streams)

    @property
    def full(self) -> bool:
        return self.room == 0

    @property
    def lagging(self) -> bool:
        return self.behind_ms > BEHIND_MS


def _rank(node: NodeLoad) -> tuple[bool, float, int, int]:
    """Sort key: healthy engines first, then the largest share of room, then fewest listeners."""
    share = node.room / node.capacity if node.capacity else 0.0
    return (node.lagging, -share, -node.room, node.listeners)


def hosts_to_try(local: NodeLoad, others: list[NodeLoad]) -> list[NodeLoad]:
    """The processes to offer a new stream to, in order (empty: every one is full).

    ``local`` (the process that received the offer) comes first unless it is full,
    lags while another does not, or another has ``BUSIER_BY_STREAMS`` more room.
    """
    open_others = sorted(
        (n for n in others if not n.full and n.channel != local.channel), key=_rank
    )
    if local.full:
        return open_others
    best = open_others[0] if open_others else None
    if best is None:
        return [local]
    much_busier = (local.lagging and not best.lagging) or (
        best.room - local.room >= BUSIER_BY_STREAMS and not best.lagging
    )
    return [*open_others, local] if much_busier else [local, *open_others]
