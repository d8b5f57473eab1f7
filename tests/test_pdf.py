"""The PDF helper renders Chinese with embedded fonts and fetches nothing from outside."""

import shutil
import subprocess

import pytest

from core.pdf import html_to_pdf
from tests.support import IN_CI

# Outside CI a machine without poppler-utils skips these with the reason shown; in CI they run (and fail if missing).
pytestmark = pytest.mark.skipif(
    not shutil.which("pdffonts") and not IN_CI, reason="poppler-utils is not installed (apt-get install poppler-utils)"
)


def test_a_chinese_page_becomes_a_pdf_with_embedded_fonts_and_a_text_layer(tmp_path):
    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(html_to_pdf("<html><body style=\"font-family:'Noto Sans CJK SC'\"><p>总体满意度 80.7%</p></body></html>"))
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and all(line.split()[-5] == "yes" for line in fonts.splitlines()[2:])
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "总体满意度 80.7%" in text


def test_a_remote_image_is_refused_not_fetched(caplog):
    pdf = html_to_pdf('<html><body><img src="http://example.invalid/x.png"><p>仍然生成</p></body></html>')
    assert pdf.startswith(b"%PDF")
    assert any("refused to fetch 'http://example.invalid/x.png'" in record.getMessage() for record in caplog.records)
