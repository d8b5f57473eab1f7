"""PDF documents from server-rendered HTML (WeasyPrint): report packs, score cards, QR-code sheets.

Fonts are the system's (Debian ``fonts-noto-cjk``), embedded as subsets, so Chinese renders in any reader; charts
are drawn server-side (SVG or PNG) before they reach here. Nothing is fetched from the network: only ``data:``
URLs and files under the static roots resolve.
"""

from __future__ import annotations

from django.contrib.staticfiles import finders
from django.template.loader import render_to_string

CJK_FONT_STACK = "'Noto Sans CJK SC', 'Noto Sans SC', 'WenQuanYi Zen Hei', sans-serif"


def _local_only_fetcher():
    """A fetcher that resolves ``data:`` URLs and ``/static/…`` files and refuses everything else (no network)."""
    from weasyprint.urls import URLFetcher

    class LocalOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:"):
                return super().fetch(url, headers)
            marker = "/static/"
            if marker in url:
                path = finders.find(url.split(marker, 1)[1].split("?", 1)[0])
                if path:
                    return super().fetch(f"file://{path}", headers)
            raise ValueError(f"refused to fetch {url!r} while rendering a PDF")

    return LocalOnly(allowed_protocols=("data", "file"))


def html_to_pdf(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, base_url="file:///", url_fetcher=_local_only_fetcher()).write_pdf()


def render_pdf(template_name: str, context: dict, request=None) -> bytes:
    """Render a template to HTML (with ``pdf_font_stack`` in its context) and the HTML to PDF bytes."""
    html = render_to_string(template_name, {"pdf_font_stack": CJK_FONT_STACK, **context}, request=request)
    return html_to_pdf(html)
