"""QR codes for owners' links, and the printable sheets built from them (core/pdf.py): a page per owner, a label
sheet per building, a poster per project. Pages see a masked name only: a sheet is taped to a door."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import segno

from core.pdf import render_pdf


def qr_svg_data_uri(url: str, *, scale: int = 4) -> str:
    """An SVG ``data:`` URI of ``url`` as a QR code (error correction M, quiet zone kept for scanners)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(scale=scale, border=4)


def mask_name(name: str) -> str:
    """张三 → 张*; 欧阳娜娜 → 欧***; enough for the owner to recognise the sheet, not for a passer-by to learn it."""
    name = (name or "").strip()
    if not name:
        return ""
    if name.startswith("业主#"):  # anonymised
        return "业主"
    return name[0] + "*" * max(1, len(name) - 1)


def building_of(unit: str) -> str:
    """The building of a unit written ``1-2-301`` or ``1栋301``: the part before the first separator."""
    for separator in ("-", "栋", "幢", "号楼"):
        if separator in unit:
            return unit.split(separator, 1)[0]
    return ""


@dataclass(frozen=True)
class QrCard:
    project_name: str
    unit: str
    masked_name: str
    url: str
    qr: str

    @property
    def building(self) -> str:
        return building_of(self.unit)


def qr_card(*, project_name: str, unit: str, owner_name: str, url: str) -> QrCard:
    return QrCard(project_name=project_name, unit=unit, masked_name=mask_name(owner_name), url=url, qr=qr_svg_data_uri(url))


def qr_sheets_pdf(*, survey_name: str, cards: list[QrCard]) -> bytes:
    """One A4 page per owner: project, unit, masked name, the QR of the personal link and how to answer."""
    return render_pdf("online/qr_sheets.html", {"survey_name": survey_name, "cards": cards})


def qr_labels_pdf(*, survey_name: str, cards: list[QrCard]) -> bytes:
    """Label sheets (3 × 7 per A4 page), a new page for every building, in the order given."""
    buildings = [(building, list(group)) for building, group in groupby(cards, key=lambda card: card.building)]
    return render_pdf("online/qr_labels.html", {"survey_name": survey_name, "buildings": buildings})


def project_poster_pdf(*, survey_name: str, project_name: str, url: str) -> bytes:
    """An A4 notice-board poster with the project's QR link (owners identify themselves on the page)."""
    return render_pdf(
        "online/project_poster.html",
        {"survey_name": survey_name, "project_name": project_name, "url": url, "qr": qr_svg_data_uri(url, scale=8)},
    )
