"""serve.py's /docs in a real headless Chromium with every host but this machine unreachable:
Swagger UI's files come from the server itself (the serve extra's fastapi-offline), so the
API's page renders offline, endpoints and fields."""

import os
import re
import time
import urllib.request

import pytest
from selenium.common.exceptions import WebDriverException

from conftest import CHROMEDRIVER, CHROMIUM, start_chromium, start_server, stop

pytestmark = pytest.mark.slow  # the whole module: see pytest.ini

# No network but loopback: every other name fails to resolve, and anything that still tried
# would go through a proxy where nothing listens.
OFFLINE = ("--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
           "--proxy-server=http://127.0.0.1:9", "--window-size=1100,900")


@pytest.fixture(scope="module")
def offline_browser(tmp_path_factory):
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not os.path.exists(path)]
    if missing and os.environ.get("CI") != "true":  # under CI the browser must be there
        pytest.skip(f"{' and '.join(missing)} missing: apt-get install chromium "
                    "chromium-driver")
    driver = start_chromium(tmp_path_factory.mktemp("chromium-profile"), *OFFLINE)
    yield driver
    driver.quit()


def wait_for(driver, script, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"never true: {script}")


def test_docs_render_with_the_network_off(offline_browser, tmp_path):
    driver = offline_browser
    process, port = start_server(cwd=tmp_path)
    origin = f"http://127.0.0.1:{port}"
    try:
        # Nothing but this server is reachable: a CDN's address fails here.
        with pytest.raises(WebDriverException, match="ERR_"):
            driver.get("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css")
        driver.get(f"{origin}/docs")
        paths = wait_for(driver, "const shown = [...document.querySelectorAll("
                         "'.opblock-summary-path')].map(e => e.textContent);"
                         "return shown.length >= 4 ? shown : null")
        assert {"/generate", "/generate/stream", "/models", "/health"} <= set(paths)
        # open POST /generate: its request body's fields and their descriptions show
        driver.find_element("css selector", "#operations-default-generate_generate_post"
                            " .opblock-summary").click()
        wait_for(driver, "return document.body.innerText.includes('num_samples')")
        text = driver.execute_script("return document.body.innerText")
        assert "The whole text at once" in text and "temperature" in text
        resources = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert resources and all(name.startswith(origin + "/") for name in resources)
        # the page as served names no other host (the rendered one has SVGs' xmlns only)
        with urllib.request.urlopen(f"{origin}/docs", timeout=30) as response:
            hosts = set(re.findall(r"https?://[^/\"' ]+", response.read().decode()))
        assert hosts <= {origin}, hosts
    finally:
        assert stop(process) == 143
