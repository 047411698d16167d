"""Challenge descriptions as sanitised Markdown.

Organisers write descriptions in the admin; participants read them. Markdown gives headings,
lists, links, tables and code without HTML, and the result is cleaned by an allow-list
sanitiser (nh3, the Rust ammonia library) before it reaches a page, so a description can never
carry a script, an event handler, a style or a javascript: link, whoever wrote it. Raw HTML in
the source is not rendered at all (markdown-it's ``html`` option off): it shows as text.
"""

from __future__ import annotations

import html

import nh3
from django.utils.html import strip_tags
from markdown_it import MarkdownIt

#: What a description may contain after rendering: prose, lists, tables, code, links, images
#: from http(s) only. No style, class or event attributes.
ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
}
URL_SCHEMES = {"http", "https", "mailto"}

_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable(
    ["table", "strikethrough"]
)


def render_markdown(source: str) -> str:
    """Safe HTML for ``source`` (Markdown); links get rel="noopener noreferrer nofollow"."""
    html = _md.render(source or "")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def home_blurb(description: str) -> str:
    """The first paragraph of a challenge's Markdown description as plain text for the home
    page's card: rendered through the same sanitiser as the challenge page, then stripped of
    its tags, so no backticks, asterisks or link syntax show."""
    first = (description or "").strip().split("\n\n", 1)[0]
    # Unescaped: the template escapes the text once (no '&amp;amp;').
    return html.unescape(strip_tags(render_markdown(first))).strip()
