"""kongpy's benchmark suite: cost per request as ratios to bare nginx in the same run."""
