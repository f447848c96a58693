"""Datastore strategies: storage only (no validation, no defaults, no HTTP)."""
