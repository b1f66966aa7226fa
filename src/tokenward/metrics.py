"""Prometheus metrics: a counter of auth events, and gauges read from one instance.

Counters are per process; with several workers, each worker reports its own, as
Prometheus expects when it scrapes them one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

PROCESS_REGISTRY = CollectorRegistry()
AUTH_EVENTS = Counter(
    "tokenward_auth_events",
    "Auth events by kind: logins, refreshes, reuse detections, revocations.",
    ["event"],
    registry=PROCESS_REGISTRY,
)


def count_event(event: str) -> None:
    AUTH_EVENTS.labels(event=event).inc()


class InstanceGauges(Collector):
    """Values read at scrape time from one running tokenward."""

    def __init__(
        self, revocation_entries: Callable[[], int], keys: Callable[[], int]
    ) -> None:
        self._revocation_entries = revocation_entries
        self._keys = keys

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "tokenward_revocation_view_entries",
            "Revoked sessions and users this instance remembers.",
            value=self._revocation_entries(),
        )
        yield GaugeMetricFamily(
            "tokenward_verification_keys",
            "Keys this instance accepts signatures from.",
            value=self._keys(),
        )


def render(instance: CollectorRegistry) -> bytes:
    return generate_latest(PROCESS_REGISTRY) + generate_latest(instance)


def instance_registry(gauges: InstanceGauges) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(gauges)
    return registry
