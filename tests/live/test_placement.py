"""Placement: a new stream goes to the process with the most room (pure rules)."""

from __future__ import annotations

from streams.placement import BEHIND_MS, NodeLoad, hosts_to_try


def node(name: str, streams: int, capacity: int = 8, behind_ms: float = 0.0) -> NodeLoad:
    return NodeLoad(name, streams, listeners=0, capacity=capacity, behind_ms=behind_ms)


def names(order: list[NodeLoad]) -> list[str]:
    return [n.channel for n in order]


def test_the_receiving_process_keeps_the_stream_when_about_as_busy():
    assert names(hosts_to_try(node("a", 3), [node("b", 2), node("c", 4)])) == ["a", "b", "c"]


def test_a_full_process_forwards_and_is_not_tried():
    assert names(hosts_to_try(node("a", 1, capacity=1), [node("b", 0)])) == ["b"]


def test_a_much_busier_process_forwards_but_stays_a_fallback():
    assert names(hosts_to_try(node("a", 5), [node("b", 3), node("c", 1)])) == ["c", "b", "a"]


def test_a_lagging_engine_counts_as_busy():
    lagging = node("a", 0, behind_ms=BEHIND_MS + 1)
    assert names(hosts_to_try(lagging, [node("b", 4)])) == ["b", "a"]
    assert names(hosts_to_try(node("a", 4), [node("b", 0, behind_ms=500)])) == ["a", "b"]


def test_every_process_full_leaves_nothing_to_try():
    full = [node("b", 8), node("c", 2, capacity=2)]
    assert hosts_to_try(node("a", 8), full) == []


def test_alone_the_process_takes_it_until_full():
    assert names(hosts_to_try(node("a", 7), [])) == ["a"]
    assert hosts_to_try(node("a", 8), []) == []
