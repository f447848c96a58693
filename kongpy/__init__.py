"""kongpy: an API gateway that speaks Kong's Admin API."""

__version__ = "0.1.0"

# The Kong release whose Admin API and proxy behaviour we implement. Kong's
# clients (go-kong, decK, Kong Manager) gate features on this semver.
KONG_VERSION = "3.9.1"
