"""``{{ text|markdown }}``: sanitised Markdown (web.rich_text) marked safe for templates."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from web.rich_text import home_blurb, render_markdown

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(source: str | None) -> SafeString:
    # Safe to mark: render_markdown's output has passed nh3's allow-list.
    return mark_safe(render_markdown(source or ""))  # noqa: S308


@register.filter(name="blurb")
def blurb_filter(source: str | None) -> str:
    """A description's first paragraph as plain text (``home_blurb``); autoescaped as text."""
    return home_blurb(source or "")
