"""Items and stop texts on the pages (issue 31): a model trained with --documents lines shows
the items switch, on serve.py's page (over real HTTP) and on the exported page (file://), and
both write the items charlstm.items writes for the seed; a files-mode model hides the switch.
The served page's stop-at box cuts the text as charlstm.generate's stop_at does."""

import os

import pytest

import charlstm
from charlstm.serving.pages import PAGE_SETTING  # what the page opens on: sampled
from conftest import run_main, start_server, stop, wait_for_state

pytestmark = pytest.mark.slow  # a server process and Chromium


def items_on_page(driver, count, seed):
    driver.find_element("id", "items").clear()
    driver.find_element("id", "items").send_keys(str(count))
    seed_box = driver.find_element("id", "seed")
    seed_box.clear()
    seed_box.send_keys(str(seed))
    driver.find_element("id", "generate").click()
    assert wait_for_state(driver, "done", "error") == "done", driver.execute_script(
        "return document.getElementById('message').textContent")
    return driver.execute_script(
        "return document.getElementById('output').textContent").split("\n")[:-1]


def switch_shown(driver):
    return driver.execute_script("return !document.getElementById('items-switch').hidden")


def test_the_served_page_writes_the_items_of_a_list_model(browser, list_checkpoint, tmp_path):
    weights, _ = list_checkpoint
    process, port = start_server("--weights", weights, cwd=tmp_path)
    try:
        browser.get(f"http://127.0.0.1:{port}/")
        wait_for_state(browser, "idle")
        assert switch_shown(browser)
        got = items_on_page(browser, 6, 11)
        # Off again, a text with a stop text: the server cuts it as generate.py does.
        browser.find_element("id", "items").clear()
        whole = charlstm.generate(weights, prime="al", length=200, seed=4, stateful=True,
                                  verbose=0, **PAGE_SETTING)
        stop_text = whole[30:32]
        for name, value in (("prime", "al"), ("length", 200), ("seed", 4),
                            ("stop-at", stop_text)):
            box = browser.find_element("id", name)
            box.clear()
            box.send_keys(str(value))
        browser.find_element("id", "generate").click()
        assert wait_for_state(browser, "done", "error") == "done"
        cut = browser.execute_script("return document.getElementById('output').textContent")
    finally:
        assert stop(process) == 143
    assert got == charlstm.items(6, weights=weights, seed=11, verbose=0, **PAGE_SETTING)
    assert cut == charlstm.generate(weights, prime="al", length=200, seed=4,
                                    stateful=True, stop_at=stop_text, verbose=0,
                                    **PAGE_SETTING)
    assert len(cut) <= 32 and cut.endswith(stop_text)


def test_the_exported_page_writes_the_same_items(browser, list_checkpoint, tmp_path):
    weights, _ = list_checkpoint
    result = run_main("export.py", "--format", "web", "--weights", weights, "--output",
                      str(tmp_path / "web"))
    assert result.returncode == 0, result.stderr
    browser.get("file://" + os.path.join(str(tmp_path / "web"), "index.html"))
    assert wait_for_state(browser, "idle", "error") == "idle"
    assert switch_shown(browser)
    assert items_on_page(browser, 6, 11) == charlstm.items(6, weights=weights, seed=11,
                                                            verbose=0, **PAGE_SETTING)
    # The bundled model was trained on a book: no items switch.
    run_main("export.py", "--format", "web", "--output", str(tmp_path / "book"))
    browser.get("file://" + os.path.join(str(tmp_path / "book"), "index.html"))
    assert wait_for_state(browser, "idle", "error") == "idle"
    assert not switch_shown(browser)
