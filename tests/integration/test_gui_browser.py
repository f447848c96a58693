"""The web GUI in a real browser against a live node with token authentication.

One node and one browser for the module (the CI budget): token login and an
expired token, a service and a route made through the forms and served by the
proxy, a validation error shown beside its field, a rollback from the history
page, and a screenshot of every page at 1280×800 and on a phone-sized viewport.
"""
from __future__ import annotations

import re
import threading
import time

import pytest
import requests

from tests.conftest import require_binary
from tests.helpers import browser as b
from tests.helpers.gateway import Gateway
from tests.helpers.http import admin
from tests.helpers.servers import EchoServer, free_port

pytestmark = pytest.mark.integration

KINDS = ("services", "routes", "consumers", "plugins", "upstreams", "certificates", "snis",
         "ca_certificates", "vaults", "key_sets", "keys")
PAGES = ("", *KINDS, *(f"{k}/new" for k in KINDS), "plugins/new?name=key-auth", "traffic",
         "history")


def _token(node: Gateway, name: str) -> str:
    return node.cli("admin", "token", "create", name, "-c", str(node.conf_path)).stdout.strip()


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    require_binary("nginx")
    gui_port = free_port()
    gw = Gateway(tmp_path_factory.mktemp("gui"), workers=1, extra={
        "admin_auth": "token", "admin_gui_listen": f"127.0.0.1:{gui_port}"})
    gw.cli("migrations", "bootstrap", "-c", str(gw.conf_path))
    gw.token = _token(gw, "gui-operator")
    gw.start()
    gw.gui = f"http://127.0.0.1:{gui_port}/"
    gw.api = admin(gw, {"Kong-Admin-Token": gw.token})
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def browser():
    with b.chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    return b.env_screenshot_dir(tmp_path_factory.mktemp("gui-screenshots"))


@pytest.fixture(scope="module")
def upstream():
    server = EchoServer("gui-upstream").start()
    yield server
    server.stop()


def _text(driver, css: str) -> str:
    """The text of the first element matching ``css`` (read in the page: pages
    re-render, a Python-side reference may go stale)."""
    return driver.execute_script(
        "var e = document.querySelector(arguments[0]); return e ? e.innerText : '';", css)


def _heading(driver) -> str:
    return _text(driver, "main h1")


def _open(driver, node: Gateway, path: str, heading: str) -> None:
    driver.get(node.gui + path)
    b.wait_for(driver, lambda d: _heading(d) == heading, f"the '{heading}' page")
    if path.endswith(("/new", "/edit")):
        b.wait_for(driver, lambda d: d.find_elements("css selector", "main form"), "the form")


def _log_in(driver, node: Gateway, token: str) -> None:
    field = b.wait_for(driver, lambda d: d.find_elements("id", "token"), "the token field")[0]
    field.clear()
    field.send_keys(token)
    field.submit()


def _logged_in(driver, node: Gateway) -> None:
    driver.get(node.gui + "login")
    b.wait_for(driver, lambda d: _heading(d) == "Log in", "the login page")
    _log_in(driver, node, node.token)
    b.wait_for(driver, lambda d: _heading(d) == "Overview" and "kongpy" in _text(d, ".stats"),
               "the overview")


def _fill(driver, path: str, value: str) -> None:
    field = driver.find_element("css selector", f'[data-path="{path}"] input, '
                                                f'[data-path="{path}"] textarea')
    field.clear()
    field.send_keys(value)


def _error_of(driver, path: str) -> str:
    return _text(driver, f'[data-error-for="{path}"]')


def test_the_gui_is_served_with_kongs_headers(node):
    resp = requests.get(node.gui + "services/anything", timeout=5)
    assert resp.status_code == 200 and "<main" in resp.text
    assert resp.headers["X-Frame-Options"] == "sameorigin"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    kconfig = requests.get(node.gui + "kconfig.js", timeout=5).text
    assert f'"ADMIN_API_PORT": "{node.ports["admin"]}"' in kconfig
    assert "GUI on 127.0.0.1:" in node.cli("health", "-p", str(node.prefix)).stdout


def test_token_login_and_an_expired_token(node, browser, shots):
    browser.get(node.gui + "services")
    b.wait_for(browser, lambda d: _heading(d) == "Log in", "the login page")
    b.screenshot(browser, shots, "login")
    _log_in(browser, node, "not-a-token")
    b.wait_for(browser, lambda d: "not accepted" in _text(d, "#token-error"),
               "the refusal under the token field")
    assert _heading(browser) == "Log in"
    short = _token(node, "short-lived")
    _log_in(browser, node, short)
    # back to the page asked for first
    b.wait_for(browser, lambda d: _heading(d) == "Gateway Services", "the services page")
    assert browser.current_url == node.gui + "services"
    node.cli("admin", "token", "revoke", "short-lived", "-c", str(node.conf_path))
    deadline = time.monotonic() + 10
    # the Admin API learns of the revocation within a second: navigate until it refuses
    section = "routes"
    while time.monotonic() < deadline and _heading(browser) != "Log in":
        browser.find_element("css selector", f'#nav a[data-section="{section}"]').click()
        section = "services" if section == "routes" else "routes"
        time.sleep(0.3)
    b.wait_for(browser, lambda d: _heading(d) == "Log in", "the login page after revocation")
    assert "no longer accepted" in _text(browser, "#token-error")
    _log_in(browser, node, node.token)
    b.wait_for(browser, lambda d: _heading(d) in ("Gateway Services", "Routes"),
               "the page before the refusal")


def test_service_and_route_through_the_forms_are_proxied(node, browser, upstream, shots):
    _logged_in(browser, node)
    _open(browser, node, "services/new", "New Gateway Service")
    _fill(browser, "name", "gui-svc")
    _fill(browser, "host", "127.0.0.1")
    _fill(browser, "port", str(upstream.port))
    b.screenshot(browser, shots, "service-form")
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: _heading(d) == "Gateway Service: gui-svc", "the new service")
    browser.find_element("link text", "New route").click()
    b.wait_for(browser, lambda d: _heading(d) == "New Route", "the route form")
    b.wait_for(browser, lambda d: d.find_elements("css selector", "main form"), "its fields")
    # opened from the service's page: the service is preselected
    b.wait_for(browser, lambda d: "gui-svc" in _text(d, '[data-path="service"] select option'
                                                        ':checked'), "the preselected service")
    _fill(browser, "name", "gui-route")
    _fill(browser, "paths", "/gui-echo")
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: _heading(d) == "Route: gui-route", "the new route")
    route = node.api.get("/routes/gui-route")
    assert route["paths"] == ["/gui-echo"]
    assert route["service"]["id"] == node.api.get("/services/gui-svc")["id"]
    node.wait_sync()
    resp = requests.get(node.proxy + "/gui-echo/hello", timeout=5)
    assert resp.status_code == 200, resp.text
    assert resp.json()["path"] == "/hello"


def test_a_validation_error_is_shown_beside_its_field(node, browser, shots):
    _logged_in(browser, node)
    before = node.api.get("/services?size=1000")["data"]
    _open(browser, node, "services/new", "New Gateway Service")
    _fill(browser, "name", "not a name")
    _fill(browser, "port", "99999")
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: _error_of(d, "name"), "the error of the name field")
    assert "invalid value 'not a name'" in _error_of(browser, "name")
    assert _error_of(browser, "host") == "required field missing"
    assert "65535" in _error_of(browser, "port")
    assert _error_of(browser, "retries") == ""
    invalid = browser.find_element("css selector", '[data-path="name"] input')
    assert invalid.get_attribute("aria-invalid") == "true"
    b.screenshot(browser, shots, "service-form-errors")
    assert _heading(browser) == "New Gateway Service"
    assert node.api.get("/services?size=1000")["data"] == before


def test_rollback_from_the_history_page(node, browser, shots):
    service = node.api.post("/services", {"name": "gui-history", "url": "http://127.0.0.1:9"})
    version = node.api.get("/config/history?size=1")["data"][0]["version"]
    node.api.patch("/services/gui-history", {"retries": 2})
    _logged_in(browser, node)
    _open(browser, node, "history", "Configuration history")
    b.wait_for(browser, lambda d: "retries" in _text(d, "#diff"), "the diff")
    diff = _text(browser, "#diff")
    assert "~ changed gui-history" in diff and "5" in diff and "2" in diff
    b.screenshot(browser, shots, "history")
    row = browser.find_element("css selector", f'tr[data-version="{version}"]')
    row.find_element("tag name", "button").click()
    dialog = browser.find_element("id", "confirm")
    b.wait_for(browser, lambda d: dialog.is_displayed(), "the confirmation")
    assert f"version {version}" in browser.find_element("id", "confirm-text").text
    browser.find_element("id", "confirm-cancel").click()  # nothing happens on cancel
    assert node.api.get(f"/services/{service['id']}")["retries"] == 2
    row = browser.find_element("css selector", f'tr[data-version="{version}"]')
    row.find_element("tag name", "button").click()
    b.wait_for(browser, lambda d: dialog.is_displayed(), "the confirmation")
    browser.find_element("id", "confirm-ok").click()
    b.wait_for(browser, lambda d: "Rolled back to version" in _text(d, "#notice"),
               "the rollback's notice")
    assert node.api.get(f"/services/{service['id']}")["retries"] == 5
    assert node.api.get("/config/history?size=1")["data"][0]["rollback_of"] == version


def _edit(driver, node: Gateway, page: str, kind: str, name: str, values: dict) -> None:
    """Changes ``values`` in the edit form of ``page`` and saves."""
    _open(driver, node, page + "/edit", f"Edit {kind}")
    for path, value in values.items():
        _fill(driver, path, value)
    driver.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(driver, lambda d: _heading(d) == f"{kind}: {name}", f"{kind} {name} saved")


def test_edit_then_delete_after_a_confirmation(node, browser):
    service = node.api.post("/services", {"name": "gui-edited", "url": "http://127.0.0.1:9",
                                          "tags": ["gui"]})
    _logged_in(browser, node)
    _edit(browser, node, f"services/{service['id']}", "Gateway Service", "gui-edited",
          {"retries": "3"})
    saved = node.api.get(f"/services/{service['id']}")
    assert saved["retries"] == 3 and saved["tags"] == ["gui"] and saved["host"] == "127.0.0.1"
    # an edit sends what changed: the route keeps its service (a foreign key field)
    route = node.api.post("/routes", {"name": "gui-edited-route", "paths": ["/a"],
                                      "service": {"id": service["id"]}})
    _edit(browser, node, f"routes/{route['id']}", "Route", "gui-edited-route",
          {"paths": "/a, /b"})
    saved = node.api.get(f"/routes/{route['id']}")
    assert saved["paths"] == ["/a", "/b"] and saved["service"] == {"id": service["id"]}
    # the Admin API refuses to delete a service its routes use: said on the page
    _open(browser, node, f"services/{service['id']}", "Gateway Service: gui-edited")
    browser.find_element("css selector", "main .actions button.danger").click()
    b.wait_for(browser, lambda d: browser.find_element("id", "confirm").is_displayed(),
               "the confirmation")
    browser.find_element("id", "confirm-ok").click()
    b.wait_for(browser, lambda d: "(HTTP 400)" in _text(d, "#notice"), "the refusal")
    assert "routes" in _text(browser, "#notice")
    assert _heading(browser) == "Gateway Service: gui-edited"
    node.api.delete(f"/routes/{route['id']}", status=204)
    # the list filtered by its tag, then Delete, Cancel, Delete, Confirm
    _open(browser, node, "services?tags=gui", "Gateway Services")
    b.wait_for(browser, lambda d: "gui-edited" in _text(d, "main table"), "the tagged list")
    assert "gui-svc" not in _text(browser, "main table")
    dialog = browser.find_element("id", "confirm")
    for answer in ("confirm-cancel", "confirm-ok"):
        browser.find_element("css selector", "main table button.danger").click()
        b.wait_for(browser, lambda d: dialog.is_displayed(), "the confirmation")
        assert "Delete gateway service gui-edited?" in _text(browser, "#confirm-text")
        browser.find_element("id", answer).click()
        if answer == "confirm-cancel":
            assert node.api.send("GET", f"/services/{service['id']}")[0] == 200
    b.wait_for(browser, lambda d: "No gateway services match" in _text(d, "main"),
               "the empty filtered list")
    assert node.api.send("GET", f"/services/{service['id']}")[0] == 404


def _live_row(driver) -> list[str] | None:
    cells = _text(driver, "#traffic table tbody tr").split("\t")
    if len(cells) == 5 and cells[1] not in ("…", "0.00") and cells[3].endswith(" ms"):
        return cells
    return None


def test_live_traffic_after_adding_prometheus_through_its_generated_form(node, browser,
                                                                         shots):
    _logged_in(browser, node)
    _open(browser, node, "traffic", "Live traffic")
    b.wait_for(browser, lambda d: "No prometheus plugin instance" in _text(d, "#traffic"),
               "how to enable the plugin")
    browser.find_element("link text", "Add the prometheus plugin").click()
    b.wait_for(browser, lambda d: _heading(d) == "New Plugin: prometheus", "the plugin form")
    # the form comes from /schemas/plugins/prometheus: its config fields are there
    b.wait_for(browser, lambda d: d.find_elements("css selector", "main form"), "the fields")
    for flag in ("status_code_metrics", "latency_metrics", "upstream_health_metrics"):
        box = browser.find_element("css selector", f'[data-path="config.{flag}"] input')
        assert box.get_attribute("type") == "checkbox" and not box.is_selected()
        box.click()
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: _heading(d) == "Plugin: prometheus", "the new plugin")
    conf = node.api.get("/plugins?size=1000")["data"][0]["config"]
    assert conf["status_code_metrics"] and conf["latency_metrics"]
    node.wait_sync()
    _open(browser, node, "traffic", "Live traffic")
    browser.execute_script("window.kpNoReload = true;")
    stop = threading.Event()
    statuses = []

    def load() -> None:  # steady traffic while the page refreshes itself
        while not stop.is_set():
            statuses.append(requests.get(node.proxy + "/gui-echo/t", timeout=5).status_code)
            time.sleep(0.05)

    sender = threading.Thread(target=load)
    sender.start()
    try:
        b.wait_for(browser, lambda d: "gui-svc / gui-route" in _text(d, "#traffic"),
                   "the route's traffic")
        # a refresh after the first one: a rate over the interval between the two
        cells = b.wait_for(browser, lambda d: _live_row(d), "a refresh with a rate", timeout=15)
    finally:
        stop.set()
        sender.join()
    assert set(statuses) == {200}
    assert float(cells[1]) > 0 and "2xx 0 " not in cells[2], cells
    # bucket bounds as numbers, not Kong's zero-padded labels ("00025.0")
    assert all(re.fullmatch(r"[1-9]\d*(\.\d+)? ms", c) for c in cells[3:5]), cells
    assert browser.execute_script("return window.kpNoReload === true;")  # no page reload
    b.screenshot(browser, shots, "traffic-live")


def test_consumer_credentials_and_upstream_health(node, browser, upstream, shots):
    _logged_in(browser, node)
    _open(browser, node, "consumers/new", "New Consumer")
    _fill(browser, "username", "gui-consumer")
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: _heading(d) == "Consumer: gui-consumer", "the consumer")
    link = b.wait_for(browser, lambda d: d.find_elements("link text",
                                                         "New key-auth credential"), "key-auth")
    link[0].click()
    b.wait_for(browser, lambda d: d.find_elements("css selector", '[data-path="key"] input'),
               "the credential form (from /schemas/keyauth_credentials)")
    assert not browser.find_elements("css selector", '[data-path="consumer"]')
    _fill(browser, "key", "gui-secret-key")
    browser.find_element("css selector", "main form button[type=submit]").click()
    b.wait_for(browser, lambda d: "gui-secret-key" in _text(d, "main"), "the new credential")
    assert _heading(browser) == "Consumer: gui-consumer"
    creds = node.api.get("/consumers/gui-consumer/key-auth")["data"]
    assert [c["key"] for c in creds] == ["gui-secret-key"]
    b.screenshot(browser, shots, "consumer")

    up = node.api.post("/upstreams", {"name": "gui-upstream"})
    node.api.post(f"/upstreams/{up['id']}/targets", {"target": f"127.0.0.1:{upstream.port}"})
    node.wait_sync()
    _open(browser, node, f"upstreams/{up['id']}", "Upstream: gui-upstream")
    b.wait_for(browser, lambda d: "HEALTHCHECKS_OFF" in _text(d, "main"), "the live health")
    assert f"127.0.0.1:{upstream.port}" in _text(browser, "main")
    b.screenshot(browser, shots, "upstream")


def test_list_search_and_pages(node, browser):
    _logged_in(browser, node)
    names = sorted(s["name"] for s in node.api.get("/services?size=1000")["data"])
    assert len(names) >= 2
    _open(browser, node, "services?q=gui-sv", "Gateway Services")
    b.wait_for(browser, lambda d: "gui-svc" in _text(d, "main table"), "the search's result")
    assert _text(browser, "main table").count("gui-") == 1
    # pages of one: Next walks every service once, Previous comes back
    _open(browser, node, "services?size=1", "Gateway Services")
    seen = []
    for _ in names:
        b.wait_for(browser, lambda d: _text(d, "main table tbody") not in ("", *seen),
                   "the next page")
        seen.append(_text(browser, "main table tbody"))
        nxt = browser.find_elements("xpath", "//main//button[text()='Next page']")
        if not nxt:
            break
        nxt[0].click()
    assert len(seen) == len(names)
    assert sorted(n for n in names if any(n in row for row in seen)) == names
    browser.find_element("xpath", "//main//button[text()='Previous page']").click()
    b.wait_for(browser, lambda d: _text(d, "main table tbody") == seen[-2], "the page before")


def test_keyboard_use(node, browser):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    _logged_in(browser, node)
    _open(browser, node, "services", "Gateway Services")
    b.wait_for(browser, lambda d: "gui-svc" in _text(d, "main table"), "the list")
    browser.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to content"
    # Tab reaches the list's Delete button; Enter opens the confirmation on
    # Cancel, Escape closes it and nothing is deleted
    delete = browser.find_element("css selector", "main table button.danger")
    for _ in range(80):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element == delete:
            break
    assert browser.switch_to.active_element == delete
    ActionChains(browser).send_keys(Keys.ENTER).perform()
    dialog = browser.find_element("id", "confirm")
    b.wait_for(browser, lambda d: dialog.is_displayed(), "the confirmation")
    assert browser.switch_to.active_element.get_attribute("id") == "confirm-cancel"
    ActionChains(browser).send_keys(Keys.ESCAPE).perform()
    b.wait_for(browser, lambda d: not dialog.is_displayed(), "the dialog closed")
    assert node.api.get("/services/gui-svc")["name"] == "gui-svc"


def test_every_page_renders_on_desktop_and_phone(node, browser, shots):
    _logged_in(browser, node)
    browser.get_log("browser")  # what earlier tests' refused requests logged
    try:
        for width, height in (b.DESKTOP, b.PHONE):
            browser.set_window_size(width, height)
            _open(browser, node, "", "Overview")
            nav, toggle = (browser.find_element("id", i) for i in ("nav", "menu-toggle"))
            # on a phone the sections fold behind the Menu button
            assert nav.is_displayed() is (width == b.DESKTOP[0])
            assert toggle.is_displayed() is (width != b.DESKTOP[0])
            if toggle.is_displayed():
                toggle.click()
                assert nav.is_displayed() and toggle.get_attribute("aria-expanded") == "true"
            for path in PAGES:
                browser.get(node.gui + path)
                b.wait_for(browser, lambda d: _heading(d) and not d.find_elements(
                    "css selector", "main .loading"), f"/{path} rendered")
                if "new" in path and path != "plugins/new":  # a form from the kind's schema
                    b.wait_for(browser, lambda d: d.find_elements(
                        "css selector", "main form .field"), f"/{path}'s fields")
                assert "Not found" != _heading(browser), path
                alerts = browser.find_elements("css selector", "main [role=alert]:not(:empty)")
                assert not alerts, (path, _text(browser, "#main"))
                name = path.replace("/", "-").replace("?name=", "-") or "overview"
                b.screenshot(browser, shots, f"{name}-{width}")
    finally:
        browser.set_window_size(*b.DESKTOP)
    assert not [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_an_unreachable_admin_api_is_said_so(node, browser):
    _logged_in(browser, node)
    closed = free_port()
    browser.execute_script(f"KP.api.base = 'http://127.0.0.1:{closed}'; KP.go('services');")
    b.wait_for(browser, lambda d: "cannot be reached" in _text(d, "#main"),
               "the unreachable Admin API message")
    # a failure no page expected still ends as a message
    # (the browser hides the message of an error thrown by injected code: "Script error.")
    browser.execute_script("KP.notice(''); setTimeout(function () { throw new Error('x'); });")
    b.wait_for(browser, lambda d: _text(d, "#notice").startswith("Unexpected error: "),
               "the notice of an uncaught error")
    # a request whose failure nothing handles
    browser.execute_script("KP.notice(''); KP.api.get('/services');")
    b.wait_for(browser, lambda d: "cannot be reached" in _text(d, "#notice"),
               "the notice of an unhandled rejection")
