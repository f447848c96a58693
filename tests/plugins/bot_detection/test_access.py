"""bot-detection through a real node: the default bot list, allow and deny
regexes, a repeated User-Agent."""
from __future__ import annotations

import http.client
import json

import requests

from tests.helpers.http import proxy


def _ua(gw, path: str, agent: str) -> requests.Response:
    return proxy(gw).get(path, headers={"User-Agent": agent})


def test_bot_detection(gateway, svc):
    gw = gateway
    gw.route("/bots", {"name": "bot-detection"})
    gw.route("/bots-lists", {"name": "bot-detection", "config": {
        "allow": ["Googlebot"], "deny": ["^curl/", "EvilBrowser"]}})
    gw.wait_sync()
    bots = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "facebookexternalhit/1.1", "Python-urllib/3.11", "Apache-HttpClient/4.5.13",
            "Mozilla/5.0 (compatible; YandexBot/3.0)", "Baiduspider", "ia_archiver",
            "Scrapy/2.11 (+https://scrapy.org)", "my-crawler/1.0"]
    for agent in bots:
        resp = _ua(gw, "/bots", agent)
        assert resp.status_code == 403, agent
        assert resp.json()["message"] == "Forbidden"
    humans = ["curl/8.5.0", "Wget/1.21.4", "python-requests/2.31.0", "HTTPie/3.2.2",
              "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/120.0 Safari/537.36",
              "Mozilla/5.0 (Linux; Android 9; CUBOT X19) AppleWebKit/537.36"]
    for agent in humans:
        assert _ua(gw, "/bots", agent).status_code == 200, agent
    assert _ua(gw, "/bots-lists",
               "Mozilla/5.0 (compatible; Googlebot/2.1)").status_code == 200
    assert _ua(gw, "/bots-lists", "curl/8.5.0").status_code == 403
    assert _ua(gw, "/bots-lists", "Mozilla/5.0 EvilBrowser/1").status_code == 403
    assert _ua(gw, "/bots-lists", "bingbot/2.0").status_code == 403
    assert _ua(gw, "/bots-lists", "Wget/1.21").status_code == 200

    conn = http.client.HTTPConnection("127.0.0.1", gw.ports["proxy"], timeout=5)
    try:
        conn.putrequest("GET", "/bots", skip_accept_encoding=True)
        conn.putheader("User-Agent", "curl/8.5.0")
        conn.putheader("User-Agent", "Wget/1.21.4")
        conn.endheaders()
        resp = conn.getresponse()
        assert resp.status == 400
        assert json.loads(resp.read())["message"] == "Only one User-Agent header allowed"
    finally:
        conn.close()
