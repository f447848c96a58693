"""Process control of a node: nginx, the Admin API, the sync loop."""
