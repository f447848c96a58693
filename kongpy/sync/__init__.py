"""Getting the datastore's configuration into the local data plane."""
from kongpy.sync.notify import notify

__all__ = ["notify"]
