"""docs/serve.png: the page at serve.py's /, in a real headless Chromium, after one sampled
text (prime "alice was ", temperature 0.6, seed 2026, 600 characters) from the bundled model.

Needs the serve extra, selenium (requirements-dev.txt) and Debian's chromium and
chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver).

    python bench/serve_screenshot.py                    # writes docs/serve.png
"""

import argparse
import os
import tempfile
import time

from common import ROOT, start_server

FIELDS = {"prime": "alice was ", "length": 600, "temperature": 0.6, "seed": 2026}
# Chromium on a closed network: without these it keeps calling Google's hosts and can hang.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1000,860")


def browser(profile):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


def wait_for_state(driver, state, seconds=120):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if driver.execute_script("return document.body.dataset.state") == state:
            return
        time.sleep(0.05)
    raise SystemExit(f"the page never reached '{state}'")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "serve.png"))
    args = parser.parse_args()
    process, port, _ = start_server(None, 8)
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = browser(profile)
            try:
                driver.get(f"http://127.0.0.1:{port}/")
                wait_for_state(driver, "idle")
                for name, value in FIELDS.items():
                    field = driver.find_element("id", name)
                    field.clear()
                    field.send_keys(str(value))
                driver.find_element("id", "generate").click()
                wait_for_state(driver, "done")
                driver.save_screenshot(args.output)
            finally:
                driver.quit()
    finally:
        process.terminate()
        process.wait(timeout=30)
    print(args.output)


if __name__ == "__main__":
    main()
