"""Scrapes of the prometheus plugin, parsed by the reference parser
(prometheus_client), and look-ups in them."""
from __future__ import annotations

import time
from typing import Any, Callable

import requests
from prometheus_client.parser import text_string_to_metric_families


class Scrape:
    """One scrape: its families by name (as exposed: counters keep ``_total``)
    and every sample."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {}
        self.samples = []
        for family in text_string_to_metric_families(text):
            # the parser names a counter's family without its _total suffix
            self.families[family.name] = family
            if family.type == "counter":
                self.families[family.name + "_total"] = family
            self.samples.extend(family.samples)

    def type_of(self, name: str) -> str:
        return self.families[name].type

    def help_of(self, name: str) -> str:
        return self.families[name].documentation

    def find(self, name: str, **labels: str) -> list[Any]:
        """The samples called ``name`` whose labels include ``labels`` (the
        parser names a counter's samples ``<name>_total`` even when the text
        does not, as for Kong's kong_bandwidth_bytes)."""
        names = (name, name + "_total")
        return [s for s in self.samples
                if s.name in names and all(s.labels.get(k) == v for k, v in labels.items())]

    def value(self, name: str, **labels: str) -> float | None:
        """The one sample's value (None when there is none)."""
        found = self.find(name, **labels)
        assert len(found) <= 1, found
        return found[0].value if found else None


def scrape(url: str) -> Scrape:
    resp = requests.get(url, timeout=10)
    assert resp.status_code == 200, (resp.status_code, resp.text)
    assert resp.headers["Content-Type"] == "text/plain; charset=UTF-8"
    return Scrape(resp.text)


def scrape_until(url: str, check: Callable[[Scrape], bool], timeout: float = 5.0) -> Scrape:
    """Scrapes until ``check`` holds (the workers flush their counts each
    second); the last scrape either way."""
    deadline = time.monotonic() + timeout
    while True:
        result = scrape(url)
        if check(result) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)
