"""Generation's options are declared once (config.GENERATION): a default changed there shows
on the page, in the server's request schema and fields, and in generate.py's --help."""

import dataclasses
import json
import re

import pytest

from charlstm import config
from charlstm.cli import ArgumentParser
from charlstm.errors import UserError
from charlstm.serving.pages import option_declarations, page_html


def _changed(**defaults):
    """A copy of config.GENERATION with other defaults."""
    return tuple(dataclasses.replace(option, default=defaults[option.name])
                 if option.name in defaults else option for option in config.GENERATION)


def _page_declarations(page):
    block = re.search(r'<script type="application/json" id="generation-options">(.*?)'
                      r'</script>', page, re.S).group(1)
    return {entry["name"]: entry for entry in json.loads(block)}


def test_the_page_carries_the_declared_defaults_ranges_and_words():
    declared = _page_declarations(page_html([]))
    assert declared["length"]["default"] == 1000 and declared["top_p"]["default"] == 1.0
    assert declared["top_p"]["requirement"] == "above 0 and at most 1"
    assert declared["top_p"]["bounds"] == {"exclusiveMinimum": 0, "maximum": 1}
    assert declared["seed"]["requirement"] == "between 0 and 4294967295"
    assert declared["length"]["whole"] and not declared["temperature"]["whole"]
    # the words generate.py says when a value is out of range
    with pytest.raises(UserError, match="must be above 0 and at most 1"):
        config.resolve_options({"top_p": 0}, config.GENERATION)


def test_a_changed_default_shows_on_the_page_in_the_schema_and_in_help():
    changed = _changed(length=777, top_p=0.5, top_k=5)
    declared = _page_declarations(page_html([], options=changed))
    assert declared["length"]["default"] == 777 and declared["top_p"]["default"] == 0.5

    server = pytest.importorskip("charlstm.serving.server")
    limits = config.resolve_options({}, config.SERVE)
    schema = server.create_app(None, limits, server.Waker(), options=changed).openapi()
    body = schema["paths"]["/generate"]["post"]["requestBody"]
    fields = body["content"]["application/json"]["schema"]["properties"]
    assert fields["length"]["default"] == 777 and fields["top_p"]["default"] == 0.5
    assert fields["top_p"]["maximum"] == 1 and fields["length"]["minimum"] == 1
    _, nullable = server.request_fields(option_declarations(changed))
    assert "top_k" not in nullable and "top_k" in server.NULLABLE  # a default: not null

    help_text = config.add_arguments(ArgumentParser(prog="generate.py"), changed,
                                     given_only=False).format_help()
    assert "(default: 777)" in re.sub(r"\s+", " ", help_text)
