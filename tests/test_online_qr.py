"""QR-code sheets (a page per owner), label sheets (a page per building) and the project poster render as PDF,
and a page turned into an image decodes back to the owner's link (pdftoppm + zbarimg)."""

import shutil
import subprocess

import pytest
from django.test import Client

from online.models import ProjectLink, SurveyInvitation
from online.qr import building_of, mask_name
from tests.online_messaging_world import *  # noqa: F403 - the fixtures
from tests.support import IN_CI

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")) and not IN_CI,
    reason="poppler-utils and zbar-tools are needed (apt-get install poppler-utils zbar-tools)",
)


def decode_page(pdf: bytes, page: int, tmp_path) -> list[str]:
    path = tmp_path / "sheet.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-f", str(page), "-l", str(page), "-png", str(path), str(tmp_path / "p")],
                   check=True)
    [image] = sorted(tmp_path.glob("p-*.png"))
    found = subprocess.run(["zbarimg", "--quiet", "--raw", str(image)], capture_output=True, text=True)
    image.unlink()
    return sorted(set(found.stdout.split()))


def pages(pdf: bytes, tmp_path) -> int:
    path = tmp_path / "count.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")))


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "text.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


def test_a_sheet_page_decodes_back_to_that_owners_link(wave, residents, lake, staff_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://csm.example.cn")
    answer = staff_client.get(f"/online/waves/2026-annual/qr.pdf?project={lake.pk}&layout=pages")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    pdf = answer.content
    # One page per un-answered owner of the project, in unit order: 1-1-101, 1-1-102, 2-1-101.
    assert pages(pdf, tmp_path) == 3
    invitations = {i.owner.unit: i for i in SurveyInvitation.objects.filter(survey=wave).select_related("owner")}
    assert set(invitations) == {"1-1-101", "1-1-102", "2-1-101"}
    assert decode_page(pdf, 1, tmp_path) == [f"https://csm.example.cn/o/{invitations['1-1-101'].token}/"]
    assert decode_page(pdf, 3, tmp_path) == [f"https://csm.example.cn/o/{invitations['2-1-101'].token}/"]
    text = text_of(pdf, tmp_path)
    assert "张*" in text and "张三" not in text and "1-1-101" in text
    # Printing again reuses the same links.
    again = staff_client.get(f"/online/waves/2026-annual/qr.pdf?project={lake.pk}&layout=pages").content
    assert decode_page(again, 1, tmp_path) == decode_page(pdf, 1, tmp_path)


def test_labels_start_a_new_page_for_each_building(wave, residents, lake, staff_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://csm.example.cn")
    pdf = staff_client.get(f"/online/waves/2026-annual/qr.pdf?project={lake.pk}&layout=labels").content
    assert pages(pdf, tmp_path) == 2  # building 1 (two units), building 2 (one)
    tokens = {i.owner.unit: i.token for i in SurveyInvitation.objects.filter(survey=wave).select_related("owner")}
    assert decode_page(pdf, 1, tmp_path) == sorted(
        f"https://csm.example.cn/o/{tokens[unit]}/" for unit in ("1-1-101", "1-1-102")
    )
    assert decode_page(pdf, 2, tmp_path) == [f"https://csm.example.cn/o/{tokens['2-1-101']}/"]


def test_the_project_poster_decodes_to_the_public_project_link(wave, lake, staff_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://csm.example.cn")
    pdf = staff_client.get("/online/waves/2026-annual/projects/LAKE/poster.pdf").content
    link = ProjectLink.objects.get(survey=wave, project=lake)
    assert decode_page(pdf, 1, tmp_path) == [f"https://csm.example.cn/o/p/{link.token}/"]
    assert "湖畔" in text_of(pdf, tmp_path)
    staff_client.get("/online/waves/2026-annual/projects/LAKE/poster.pdf")
    assert ProjectLink.objects.count() == 1  # printed again: the same link


def test_a_missing_project_is_told_in_chinese_and_a_head_may_not_print(wave, staff_client, engineering_head):
    answer = staff_client.get("/online/waves/2026-annual/qr.pdf?layout=pages", follow=True)
    assert "请选择楼盘" in answer.content.decode()
    client = Client()
    client.force_login(engineering_head)
    assert client.get("/online/waves/2026-annual/qr.pdf?project=1&layout=pages").status_code == 403


def test_names_are_masked_and_buildings_read_from_the_unit():
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_name("业主#12") == "业主"
    assert (building_of("1-2-301"), building_of("5栋1201"), building_of("301")) == ("1", "5", "")


def test_one_building_can_be_printed_alone(wave, residents, lake, staff_client, tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_URL", "https://csm.example.cn")
    answer = staff_client.get(f"/online/waves/2026-annual/qr.pdf?project={lake.pk}&building=2&layout=pages")
    assert 'filename="qr-2026-annual-LAKE-2-pages.pdf"' in answer["Content-Disposition"]
    [invitation] = SurveyInvitation.objects.filter(survey=wave)
    assert invitation.owner.unit == "2-1-101"  # links issued for that building only
    assert pages(answer.content, tmp_path) == 1
    assert decode_page(answer.content, 1, tmp_path) == [f"https://csm.example.cn/o/{invitation.token}/"]
    empty = staff_client.get(f"/online/waves/2026-annual/qr.pdf?project={lake.pk}&building=9&layout=pages", follow=True)
    assert "该楼盘（楼栋）没有未答卷的业主" in empty.content.decode()


def test_the_page_offers_a_poster_for_every_project_when_the_wave_names_none(wave, lake, hill, staff_client):
    page = staff_client.get("/online/waves/2026-annual/messages/").content.decode()
    assert "/online/waves/2026-annual/projects/LAKE/poster.pdf" in page
    assert "/online/waves/2026-annual/projects/HILL/poster.pdf" in page
