"""docs/serve.png: the page at serve.py's /, in a real headless Chromium, after one sampled
text (prime "alice was ", seed 2026, 600 characters, the page's opening setting: PAGE_SETTING
in charlstm/serving/pages.py) from the bundled model.

Needs the serve extra, selenium (requirements-dev.txt) and Debian's chromium and
chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver).

    python bench/serve_screenshot.py                    # writes docs/serve.png
"""

import argparse
import os
import tempfile

from common import ROOT, start_chromium, start_server, wait_for_state

FIELDS = {"prime": "alice was ", "length": 600, "seed": 2026}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=os.path.join(ROOT, "docs", "serve.png"))
    args = parser.parse_args()
    from charlstm.checkpoints.run_folder import BUNDLED_MODEL

    process, port = start_server("--max-streams", "8", "--weights", BUNDLED_MODEL)
    try:
        with tempfile.TemporaryDirectory() as profile:
            driver = start_chromium(profile, "--hide-scrollbars", "--window-size=1000,860")
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
