"""Turn the counters and histograms every process adds to Redis (``db.observe.recorder``) into Prometheus
metric families: one ``HGETALL`` per metric, in one pipeline, whatever the number of jobs."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

import db.observe.catalog  # noqa: F401  (declares the metrics)
from db.observe.recorder import LABEL_SEP, PART_SEP, MetricDef, defined_metrics


async def recorded_families(client: aioredis.Redis) -> list[Any]:
    metrics = defined_metrics()
    pipe = client.pipeline(transaction=False)
    for metric in metrics:
        pipe.hgetall(metric.key)
    hashes = await pipe.execute()
    return [_family(metric, _decoded(raw)) for metric, raw in zip(metrics, hashes, strict=True)]


def _decoded(raw: dict[Any, Any]) -> dict[str, float]:
    return {(k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in raw.items()}


def _labels(metric: MetricDef, field: str) -> list[str]:
    return field.split(LABEL_SEP) if metric.labels else []


def _family(metric: MetricDef, values: dict[str, float]) -> Any:
    if not metric.is_histogram:
        # prometheus_client adds the ``_total`` suffix itself.
        counter = CounterMetricFamily(metric.name.removesuffix("_total"), metric.help, labels=list(metric.labels))
        for field, value in sorted(values.items()):
            counter.add_metric(_labels(metric, field), value)
        return counter
    series: dict[str, dict[str, float]] = {}
    for field, value in values.items():
        labels, _, part = field.rpartition(PART_SEP)
        series.setdefault(labels, {})[part] = value
    family = HistogramMetricFamily(metric.name, metric.help, labels=list(metric.labels))
    for labels, parts in sorted(series.items()):
        cumulative = 0.0
        buckets: list[tuple[str, float]] = []
        for index, bound in enumerate(metric.buckets):
            cumulative += parts.get(str(index), 0.0)
            buckets.append((str(bound), cumulative))
        buckets.append(("+Inf", parts.get("count", 0.0)))
        family.add_metric(_labels(metric, labels), buckets, parts.get("sum", 0.0))
    return family
