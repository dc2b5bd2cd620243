"""Lists: a text of one item a line (names, titles, headlines), for --documents lines.

Each non-empty line is one item; the separator the model learns between items is the line
break, ITEM_SEPARATOR. A line's trailing carriage return (a Windows file) is not part of it,
and a line of only spaces is no item. generate.py --items writes whole items, each read from
the model's state after the separator, and --new-only keeps those that are not items of the
training text.

    >>> items_of("mary\\r\\nanna\\n\\n  \\nmary\\n")
    ['mary', 'anna', 'mary']
    >>> known = set(items_of("mary\\nanna\\n"))
    >>> [item for item in ["maria", "anna"] if item not in known]
    ['maria']
"""

ITEM_SEPARATOR = "\n"


def items_of(text):
    """The items of a text, in order: its lines without their line ends, the blank ones left
    out (repeats kept: a list may name an item twice)."""
    lines = (line.rstrip("\r") for line in text.split(ITEM_SEPARATOR))
    return [line for line in lines if line.strip()]
