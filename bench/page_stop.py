"""How soon Stop stops the exported page (export.py --format web) under load: a 10,000-character
sampled run of the bundled model in headless Chromium, Stop clicked once 1,000 characters are
shown, timed on the machine's clock from the test asking chromedriver for the click to the
page saying "stopped" (so the wait for the click to reach the page's thread counts), and on the
page's clock from the click event to "stopped". Two ways for browser_engine.js to yield
between its 25 ms slices, in the same run: a timer (what it does) and a MessageChannel message
(what it did). An idle page's click is timed too: chromedriver's own share.

    python bench/page_stop.py            # writes bench/results/page_stop.txt
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from common import ROOT, cpu_name, save_table, start_chromium, wait_for_state

WATCH = """
window.timing = {};
const now = () => performance.timeOrigin + performance.now();
document.addEventListener("pointerdown", (event) => {
  timing.clicked = performance.timeOrigin + event.timeStamp; }, true);
new MutationObserver(() => {
  if (document.body.dataset.state === "stopped") timing.stopped = now();
}).observe(document.body, {attributes: true, attributeFilter: ["data-state"]});
"""
# The old yield: a posted message always, never the timer.
MESSAGE_ONLY = ("if (!document.hidden) {", "if (false) {")


def export(folder):
    subprocess.run([sys.executable, os.path.join(ROOT, "export.py"), "--format", "web",
                    "--output", folder], check=True, capture_output=True)


def one_stop(driver, url):
    driver.get(url)
    wait_for_state(driver, "idle")
    driver.execute_script(WATCH)
    for name, value in (("prime", "the queen "), ("length", 10000), ("temperature", 0.8)):
        field = driver.find_element("id", name)
        field.clear()
        field.send_keys(str(value))
    driver.find_element("id", "generate").click()
    text = "return document.getElementById('output').textContent.length"
    while driver.execute_script(text) < 1000:
        time.sleep(0.05)
    asked = time.time() * 1000
    driver.find_element("id", "stop").click()
    wait_for_state(driver, "stopped")
    timing = driver.execute_script("return window.timing")
    return timing["stopped"] - asked, timing["stopped"] - timing["clicked"]


def idle_click(driver, url):
    driver.get(url)
    wait_for_state(driver, "idle")
    driver.execute_script(WATCH)
    asked = time.time() * 1000
    driver.find_element("id", "greedy").click()
    return driver.execute_script("return window.timing.clicked") - asked


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results",
                                                         "page_stop.txt"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as work:
        folders = {"timer (now)": os.path.join(work, "timer"),
                   "message (before)": os.path.join(work, "message")}
        for folder in folders.values():
            export(folder)
        engine = os.path.join(folders["message (before)"], "browser_engine.js")
        with open(engine) as handle:
            source = handle.read()
        assert MESSAGE_ONLY[0] in source
        with open(engine, "w") as handle:
            handle.write(source.replace(*MESSAGE_ONLY))
        driver = start_chromium(os.path.join(work, "profile"))
        try:
            idle = [idle_click(driver, "file://" + folders["timer (now)"] + "/index.html")
                    for _ in range(args.repeats)]
            for _ in range(args.repeats):  # the two alternate, so a busy spell hits both
                for name, folder in folders.items():
                    rows.append((name, *one_stop(driver, "file://" + folder + "/index.html")))
        finally:
            driver.quit()
    lines = [f"# bench/page_stop.py: Stop during a 10,000-character run of the exported page "
             f"(bundled model), headless Chromium; best and worst of {args.repeats}",
             f"# {cpu_name()}, shared with other work (load average "
             f"{os.getloadavg()[0]:.1f} at the end)",
             f"idle page: chromedriver's click reaches the page in "
             f"{min(idle):.0f}-{max(idle):.0f} ms",
             "yield between slices   asked -> stopped (ms)   click event -> stopped (ms)"]
    for name in folders:
        mine = [row for row in rows if row[0] == name]
        asked = [row[1] for row in mine]
        clicked = [row[2] for row in mine]
        lines.append(f"{name:<22} {min(asked):>9.0f} - {max(asked):<9.0f}   "
                     f"{min(clicked):>9.0f} - {max(clicked):<9.0f}")
    save_table("\n".join(lines), args.output)


if __name__ == "__main__":
    main()
