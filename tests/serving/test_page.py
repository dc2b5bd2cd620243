"""The page at serve.py's / in a real headless Chromium: type a prime, press Generate, see the
text arrive, Stop; greedy text ("greedy, as the tutorial") is generate.py --stateful's; the
page opens on the sampled setting of serving/pages.py's PAGE_SETTING."""

import time

import pytest

from charlstm.checkpoints.run_folder import BUNDLED_MODEL
from charlstm.serving.pages import page_settings

from conftest import (request, run_main, start_server, stop, stop_on_the_page,
                      text_grows_in_steps, wait_for_state)
from helpers import repeated_span

pytestmark = pytest.mark.slow  # the whole module: see pytest.ini


@pytest.fixture(scope="module")
def page(browser, tmp_path_factory):
    process, port = start_server(cwd=tmp_path_factory.mktemp("page"))
    browser.get(f"http://127.0.0.1:{port}/")
    wait_for_state(browser, "idle")
    yield browser, port, process.log
    assert stop(process) == 143


def fill(driver, **values):
    for name, value in values.items():
        field = driver.find_element("id", name)
        field.clear()
        field.send_keys(str(value))


def output(driver):
    return driver.execute_script("return document.getElementById('output').textContent")


def test_generate_writes_generate_py_stateful_greedy_text(page):
    driver, _, _ = page
    assert "on the server" in driver.find_element("id", "engine").text
    assert "alice (43 characters" in driver.find_element("id", "model").text
    driver.find_element("id", "greedy").click()  # the page opens sampled: one click
    fill(driver, prime="alice was ", length=300)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done", "error") == "done"
    shown = driver.find_element("id", "prime-text").get_attribute("textContent")
    assert shown == "alice was "  # the prime, set apart before the text
    command = run_main("generate.py", "--weights", BUNDLED_MODEL, "--stateful", "--prime",
                       "alice was ", "--length", "300", "--raw")
    assert output(driver) + "\n" == command.stdout
    assert driver.find_element("id", "seed-used").text.isdigit()


def test_the_page_opens_on_the_measured_sampled_setting(page):
    driver, _, _ = page
    driver.refresh()
    wait_for_state(driver, "idle")
    for name, value in page_settings()["opening"].items():
        shown = driver.find_element("id", name.replace("_", "-")).get_attribute("value")
        assert (float(shown) if shown else None) == value, name
    assert driver.find_element("id", "length").get_attribute("value") == "1000"


def test_generate_with_the_defaults_writes_no_loop_after_the_seed_window_it_shows(page):
    """Needs the server's side of issue 29 (the start event's "prime": the seed window);
    with an older server the page has no window to show and this fails on it."""
    driver, _, _ = page
    driver.refresh()
    wait_for_state(driver, "idle")
    # The defaults, but for a fixed seed: how often the setting loops over many seeds is
    # bench/page_setting.py's measure; a random one here would fail now and then.
    fill(driver, seed=1)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done", "error") == "done"
    text = output(driver)
    assert len(text) == 1000 and repeated_span(text) is None, repeated_span(text)
    assert driver.find_element("id", "prime-shown").is_displayed()
    window = driver.find_element("id", "prime-text").get_attribute("textContent")
    assert len(window) == 100, window


def test_text_appears_as_it_is_made_and_stop_stops_it(page):
    driver, port, _ = page
    fill(driver, prime="the queen ", length=10000, temperature=0.8, seed=5)
    driver.find_element("id", "generate").click()
    assert text_grows_in_steps(driver), "the text did not grow in steps"
    assert driver.find_element("id", "seed-used").text == "5"
    stop_on_the_page(driver, 10000)
    deadline = time.time() + 10
    while request(port, "GET", "/health")[1]["streams"] and time.time() < deadline:
        time.sleep(0.1)
    assert request(port, "GET", "/health")[1]["streams"] == 0  # its rows left the batch


def test_a_refused_request_is_one_message_on_the_page(page):
    driver, _, _ = page
    fill(driver, prime="{curly}", length=10)
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "error") == "error"
    assert "the model does not know: '{', '}'" in driver.find_element("id", "message").text
    fill(driver, prime="alice ", length=5)  # and it recovers
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done") == "done" and len(output(driver)) == 5


def test_a_page_of_another_origin_cannot_start_a_text(page, tmp_path):
    """Issue 30: a page on another 127.0.0.1 port posts to the server, as a "simple"
    text/plain request (no preflight) and as JSON (a preflight): neither starts a text."""
    import functools
    import http.server
    import threading

    driver, port, log = page
    before = len(log)  # the lines of the earlier tests' own streams
    (tmp_path / "index.html").write_text("<!doctype html><title>another site</title>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    other = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        driver.get(f"http://127.0.0.1:{other.server_address[1]}/index.html")
        outcomes = driver.execute_async_script("""
            const done = arguments[arguments.length - 1], url = arguments[0];
            const body = JSON.stringify({length: 5000});
            const tries = [{mode: "no-cors", headers: {"content-type": "text/plain"}},
                           {headers: {"content-type": "application/json"}}];
            Promise.all(tries.map(options => fetch(url, {method: "POST", body, ...options})
                .then(response => response.type + " " + response.status,
                      error => "refused " + error.name))).then(done);
        """, f"http://127.0.0.1:{port}/generate/stream")
    finally:
        other.shutdown()
        driver.get(f"http://127.0.0.1:{port}/")  # back to the page for any later test
        wait_for_state(driver, "idle")
    assert outcomes == ["opaque 0", "refused TypeError"], outcomes
    refusals = [line.split()[1:4] for line in log[before:] if "/generate/stream" in line]
    assert ["POST", "/generate/stream", "403"] in refusals, log
    assert ["OPTIONS", "/generate/stream", "403"] in refusals, log
    assert not [line for line in refusals if line[2] == "200"], log
    assert request(port, "GET", "/health")[1]["streams"] == 0
