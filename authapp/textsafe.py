"""Text from files and names, made safe to show: control characters escaped, never emitted.

A recording's file name, a user id or an identity from a data set may hold an ANSI escape
(ESC), a newline or another invisible character; written raw to a terminal, a CSV file or an
HTML page it can rewrite what the reader sees. Every output the project writes for people
passes such text through here: ``printable`` (terminal lines, CSV fields) and ``html_text``.
"""

from __future__ import annotations

import html


def printable(text: object, keep: str = "") -> str:
    """``text`` without control characters: newlines, ANSI escapes and other invisible
    characters are shown escaped (``\\x1b``, ``\\n``), except those in ``keep``."""
    out = []
    for ch in str(text):
        if ch.isprintable() or ch == " " or ch in keep:
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)


def html_text(text: object) -> str:
    """``text`` for an HTML page: control characters escaped (line breaks and tabs kept),
    then HTML-escaped."""
    return html.escape(printable(text, keep="\n\t"))
