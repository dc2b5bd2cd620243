"""The page's opening setting (serving/pages.py's PAGE_SETTING) is the one bench/page_setting.py
measured and chose (bench/results/page_setting.txt), the "greedy, as the tutorial" setting is
generate.py's defaults, and index.html carries both, its favicon inline and a hint for a
placeholder. The page itself, in Chromium: tests/serving/test_page.py and
tests/exporting/test_web_export.py."""

import json
import os
import re

from charlstm.config import GENERATION
from charlstm.serving.pages import PAGE_SETTING, page_html, page_settings

RESULTS = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "results",
                       "page_setting.txt")


def chosen_in_results():
    with open(RESULTS) as handle:
        found = re.search(r"^chosen: temperature (\S+) top_p (\S+)$", handle.read(), re.M)
    assert found, f"{RESULTS} names no chosen setting"
    return {"temperature": float(found[1]), "top_p": float(found[2])}


def test_the_page_opens_on_the_setting_the_bench_chose():
    assert PAGE_SETTING == chosen_in_results()


def test_greedy_as_the_tutorial_is_generate_py_s_defaults_and_the_opening_samples():
    declared = {option.name: option.default for option in GENERATION}
    settings = page_settings()
    assert settings["tutorial"] == {"temperature": declared["temperature"], "top_k":
                                    declared["top_k"], "top_p": declared["top_p"]}
    assert declared["temperature"] == 0  # generate.py stays greedy, as the tutorial
    assert settings["opening"]["temperature"] > 0


def test_index_html_carries_the_settings_an_inline_favicon_and_a_hint():
    page = page_html([])
    block = re.search(r'<script type="application/json" id="page-settings">(.*?)</script>',
                      page, re.S)
    assert json.loads(block[1]) == page_settings()
    assert re.search(r'<link rel="icon" type="image/svg\+xml" href="data:image/svg\+xml;'
                     r'base64,[A-Za-z0-9+/=]+">', page)
    assert "http:" not in page and "{{" not in page
    assert 'placeholder="type the start of a text' in page
