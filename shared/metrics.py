"""Prometheus metrics. Labels never carry personal data: routes are templates, not paths."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "baoxue_http_requests_total", "HTTP requests served", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "baoxue_http_request_duration_seconds", "HTTP request latency", ["service", "method", "route"]
)
OUTBOX_PUBLISHED = Counter(
    "baoxue_outbox_published_total", "Outbox rows acknowledged by the broker", ["service", "event_type"]
)
OUTBOX_FAILURES = Counter(
    "baoxue_outbox_publish_failures_total", "Relay passes that could not reach the broker", ["service"]
)
OUTBOX_REPUBLISHED = Counter(
    "baoxue_outbox_republished_total",
    "Outbox rows marked for publishing again because the broker lost records it had acknowledged",
    ["service", "topic"],
)
OUTBOX_LAG = Histogram(
    "baoxue_outbox_lag_seconds",
    "Time from an outbox row's commit to the broker's acknowledgement",
    ["service"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
EVENTS_CONSUMED = Counter(
    "baoxue_events_consumed_total", "Events consumed, by outcome", ["service", "event_type", "outcome"]
)
DEAD_LETTERS = Counter("baoxue_dead_letters_total", "Records set aside as poison", ["service", "topic"])
JOB_RUNS = Counter("baoxue_job_runs_total", "Scheduled job passes", ["service", "job", "outcome"])
