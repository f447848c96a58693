"""rate-limiting: Kong's ``ratelimiting_metrics`` counters (the ``cluster`` policy)."""
from kongpy.db import metrics
from kongpy.db.migrations import Migration

MIGRATIONS = [
    Migration("000_base_rate_limiting", metrics.create("ratelimiting_metrics")),
]
