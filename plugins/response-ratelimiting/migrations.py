"""response-ratelimiting: Kong's ``response_ratelimiting_metrics`` counters (``cluster``)."""
from kongpy.db import metrics
from kongpy.db.migrations import Migration

MIGRATIONS = [
    Migration("000_base_response_ratelimiting",
              metrics.create("response_ratelimiting_metrics")),
]
