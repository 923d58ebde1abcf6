"""A contest's banner: the share card made from it with Pillow, and the pages that show it.

Real files, in a MEDIA_ROOT of the test's own.
"""

import importlib
import io
import re
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import clear_url_caches, reverse
from django.utils import translation
from PIL import ExifTags, Image, PngImagePlugin

import tweetup.urls
from contests.errors import ContestError
from contests.models import Contest
from contests.services import banners
from contests.services.entries import contest_save
from tests.builders import drawn_contest
from tests.contests.drawing import organizer
from tests.factories import ContestFactory, contest_admin_post

pytestmark = pytest.mark.django_db

RED = (220, 20, 20)
BLUE = (20, 20, 220)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def photo(
    size=(3000, 2000), *, name="photo.jpg", orientation: int | None = None
) -> SimpleUploadedFile:
    """A JPEG whose top half is red and bottom half blue, as stored (before any EXIF turn)."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (0, size[1] // 2, size[0], size[1]))
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    exif[0x010F] = "Camera maker"
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def card_of(contest: Contest) -> Image.Image:
    contest.banner_card.open("rb")
    try:
        image = Image.open(io.BytesIO(contest.banner_card.read()))
        image.load()
    finally:
        contest.banner_card.close()
    return image


def near(pixel, colour) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=True))


def test_an_uploaded_photo_becomes_a_1200_by_630_card_without_its_metadata(media_root):
    contest = ContestFactory.build(slug="with-banner", banner=photo())
    contest_save(contest=contest)
    contest.refresh_from_db()
    card = card_of(contest)
    assert (card.format, card.mode, card.size) == ("JPEG", "RGB", (1200, 630))
    assert not card.getexif() and "exif" not in card.info
    # Both the original and the card are in MEDIA_ROOT.
    assert (media_root / contest.banner.name).is_file()
    assert (media_root / contest.banner_card.name).is_file()
    assert contest.banner.name.startswith("contests/banners/")
    assert contest.banner_card.name.startswith("contests/cards/with-banner-")


def test_the_card_of_a_contest_with_the_longest_slug_keeps_its_digest_in_its_name():
    slug = "s" * Contest._meta.get_field("slug").max_length
    contest = contest_save(contest=ContestFactory.build(slug=slug, banner=photo((1300, 700))))
    contest.refresh_from_db()
    assert re.fullmatch(r"contests/cards/s{40}-[0-9a-f]{16}\.jpg", contest.banner_card.name)
    assert card_of(contest).size == (1200, 630)


def test_a_photo_turned_by_its_exif_orientation_comes_out_upright():
    # Orientation 6: shown turned a quarter clockwise, so the stored top (red) is
    # on the right and the stored bottom (blue) on the left.
    contest = ContestFactory.build(banner=photo((2000, 1200), orientation=6))
    contest_save(contest=contest)
    card = card_of(contest)
    assert card.size == (1200, 630)
    assert near(card.getpixel((100, 315)), BLUE), card.getpixel((100, 315))
    assert near(card.getpixel((1100, 315)), RED), card.getpixel((1100, 315))


# Where the photo was taken, by what, and what its owner wrote in it.
GPS = {1: "N", 2: (46.0, 14.0, 2.4), 3: "E", 4: (6.0, 3.0, 18.0)}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/">'
    b"<exif:GPSLatitude>46,14.04N</exif:GPSLatitude></x:xmpmeta>"
)
COMMENT = b"Taken in the garden at home"


def photo_with_position(size=(3000, 2000), *, orientation: int | None = None) -> bytes:
    """A JPEG whose EXIF holds a GPS position and a camera, with XMP and a comment."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (0, size[1] // 2, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Camera maker"
    exif[ExifTags.IFD.GPSInfo] = GPS
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, exif=exif.tobytes(), xmp=XMP, comment=COMMENT)
    data = out.getvalue()
    # The test's premise: the upload does carry all of it.
    sent = Image.open(io.BytesIO(data))
    assert sent.getexif().get_ifd(ExifTags.IFD.GPSInfo) == GPS
    assert {"xmp", "comment"} <= set(sent.info)
    return data


def assert_no_metadata(path) -> Image.Image:
    data = path.read_bytes()
    for trace in (b"Exif\x00\x00", b"Camera maker", b"GPSLatitude", b"xmpmeta", COMMENT):
        assert trace not in data, (path.name, trace)
    with Image.open(path) as image:
        image.load()
    assert not image.getexif(), path.name
    assert not {"exif", "xmp", "comment"} & set(image.info), (path.name, image.info.keys())
    return image


def test_no_stored_file_keeps_the_uploaded_photos_position_or_camera(client, media_root):
    client.force_login(organizer())
    upload = SimpleUploadedFile("photo.jpg", photo_with_position(), content_type="image/jpeg")
    response = client.post(
        reverse("admin:contests_contest_add"), {**admin_fields("private-banner"), "banner": upload}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    contest = Contest.objects.get(slug="private-banner")
    stored = sorted(path for path in media_root.rglob("*") if path.is_file())
    assert [path.relative_to(media_root).as_posix() for path in stored] == sorted(
        [contest.banner.name, contest.banner_card.name]
    )
    images = {path.relative_to(media_root).as_posix(): assert_no_metadata(path) for path in stored}
    # The photo is still the photo: its size, its format, its picture.
    original = images[contest.banner.name]
    assert (original.format, original.size) == ("JPEG", (3000, 2000))
    assert near(original.getpixel((100, 100)), RED) and near(original.getpixel((100, 1900)), BLUE)
    assert images[contest.banner_card.name].size == (1200, 630)


def test_the_stored_photo_is_turned_upright_as_its_orientation_said(media_root):
    upload = SimpleUploadedFile("photo.jpg", photo_with_position((2000, 1200), orientation=6))
    contest = contest_save(contest=ContestFactory.build(banner=upload))
    original = assert_no_metadata(media_root / contest.banner.name)
    # Turned a quarter clockwise: the stored top (red) now on the right.
    assert original.size == (1200, 2000)
    assert near(original.getpixel((1100, 1000)), RED) and near(original.getpixel((100, 1000)), BLUE)


def test_a_png_loses_its_text_and_exif_and_keeps_every_pixel(media_root):
    image = Image.new("RGBA", (1300, 700), (*RED, 255))
    image.paste((*BLUE, 128), (0, 350, 1300, 700))
    text = PngImagePlugin.PngInfo()
    text.add_text("Location", "46.2340 N, 6.0550 E")
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = GPS
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=text, exif=exif.tobytes())
    contest = contest_save(
        contest=ContestFactory.build(banner=SimpleUploadedFile("photo.png", out.getvalue()))
    )
    stored = media_root / contest.banner.name
    assert stored.suffix == ".png" and b"46.2340" not in stored.read_bytes()
    original = assert_no_metadata(stored)
    assert "Location" not in original.info
    assert original.tobytes() == image.tobytes() and original.mode == image.mode


def test_a_text_file_named_png_is_refused_with_a_clear_message_in_english_and_french(media_root):
    text = b"Not a picture at all.\n"
    contest = ContestFactory.build(
        banner=SimpleUploadedFile("banner.png", text, content_type="image/png")
    )
    with pytest.raises(ContestError) as refused:
        contest_save(contest=contest)
    assert refused.value.message == "The banner is not an image: upload a JPEG, PNG or WebP photo."
    assert refused.value.extra["fields"] == {"banner": refused.value.message}
    assert not Contest.objects.exists()
    with translation.override("fr"), pytest.raises(ContestError) as refused:
        banners.banner_check(SimpleUploadedFile("banner.png", text))
    assert refused.value.message.startswith("La bannière n'est pas une image")


def test_a_huge_file_or_image_is_refused_before_it_is_decoded():
    too_big = SimpleUploadedFile("big.jpg", b"\0" * (banners.MAX_BYTES + 1))
    with pytest.raises(ContestError, match="it may be at most 10"):
        banners.banner_check(too_big)
    # 8000 x 6000, one bit a pixel: a small file, 48 million pixels.
    out = io.BytesIO()
    Image.new("1", (8000, 6000)).save(out, "PNG")
    assert len(out.getvalue()) < banners.MAX_BYTES
    with pytest.raises(ContestError, match="8000 × 6000 pixels; it may have at most 40 million"):
        banners.banner_check(SimpleUploadedFile("wide.png", out.getvalue()))


class _Meta(HTMLParser):
    def __init__(self):
        super().__init__()
        self.meta, self.images = {}, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            key = attrs.get("property") or attrs.get("name")
            self.meta[key] = attrs.get("content")
        elif tag == "img" and attrs.get("id"):
            self.images[attrs["id"]] = attrs


def page(client, contest) -> _Meta:
    response = client.get(contest.get_absolute_url())
    assert response.status_code == 200
    parsed = _Meta()
    parsed.feed(response.content.decode())
    return parsed


def test_the_contest_page_shares_its_banner_card_and_shows_it_sized(client, media_root):
    contest = contest_save(contest=ContestFactory.build(title="Open day", banner=photo()))
    parsed = page(client, contest)
    url = "http://testserver/media/" + contest.banner_card.name
    assert parsed.meta["og:image"] == url
    assert parsed.meta["twitter:image"] == url
    assert (parsed.meta["og:image:width"], parsed.meta["og:image:height"]) == ("1200", "630")
    assert parsed.meta["og:image:alt"] == parsed.meta["twitter:image:alt"] == "Open day"
    banner = parsed.images["contest-banner"]
    assert banner["src"] == "/media/" + contest.banner_card.name
    assert (banner["width"], banner["height"], banner["alt"]) == ("1200", "630", "Open day")
    assert (media_root / contest.banner_card.name).is_file()


def test_the_results_and_the_live_draw_share_the_contests_banner_card(client, media_root):
    contest, _draw = drawn_contest(winners=1, alternates=0, title="Open day")
    contest.banner = photo()
    contest = contest_save(contest=contest)
    card = "http://testserver/media/" + contest.banner_card.name
    for name in ("contests:results", "contests:live_draw"):
        response = client.get(reverse(name, args=[contest.slug]))
        assert response.status_code == 200, name
        parsed = _Meta()
        parsed.feed(response.content.decode())
        assert parsed.meta["og:image"] == parsed.meta["twitter:image"] == card, name
        assert parsed.meta["og:image:alt"] == parsed.meta["twitter:image:alt"] == "Open day"


def test_a_contest_without_a_banner_shares_the_generic_card(client):
    parsed = page(client, ContestFactory())
    assert parsed.meta["og:image"].startswith("http://testserver/static/img/tweetup-card")
    assert parsed.meta["twitter:image"] == parsed.meta["og:image"]
    assert "contest-banner" not in parsed.images


def admin_fields(slug: str) -> dict:
    return contest_admin_post(slug=slug)


def test_an_organizer_uploads_a_banner_in_the_contest_admin(client, media_root):
    client.force_login(organizer())
    page_html = client.get(reverse("admin:contests_contest_add")).content.decode()
    assert 'name="banner"' in page_html and 'enctype="multipart/form-data"' in page_html
    response = client.post(
        reverse("admin:contests_contest_add"), {**admin_fields("banner-day"), "banner": photo()}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    contest = Contest.objects.get(slug="banner-day")
    assert len(contest.commitment) == 64  # Saved by contest_save, which gave it its seed.
    assert card_of(contest).size == (1200, 630)
    assert (media_root / contest.banner.name).is_file()


def test_the_contest_admin_refuses_a_text_file_named_png_on_its_field(client, media_root):
    client.force_login(organizer())
    fake = SimpleUploadedFile("banner.png", b"Not a picture.\n", content_type="image/png")
    response = client.post(
        reverse("admin:contests_contest_add"), {**admin_fields("fake-banner"), "banner": fake}
    )
    assert response.status_code == 200
    assert "Upload a valid image." in response.context["adminform"].form.errors["banner"][0]
    assert not Contest.objects.filter(slug="fake-banner").exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_a_new_banner_replaces_the_old_files_and_clearing_it_clears_the_card(
    media_root, django_capture_on_commit_callbacks
):
    contest = contest_save(contest=ContestFactory.build(banner=photo()))
    first = (contest.banner.name, contest.banner_card.name)
    with django_capture_on_commit_callbacks(execute=True):
        contest.banner = photo((1600, 900))
        contest_save(contest=contest)
    assert contest.banner_card.name != first[1]
    assert not any((media_root / name).exists() for name in first)
    with django_capture_on_commit_callbacks(execute=True):
        contest.banner = ""
        contest_save(contest=contest)
    contest.refresh_from_db()
    assert not contest.banner and not contest.banner_card


@pytest.fixture
def urls_with_debug(settings):
    """The site's URLs as `make run` builds them (DEBUG), then as before."""
    settings.DEBUG = True
    importlib.reload(tweetup.urls)
    clear_url_caches()
    yield
    settings.DEBUG = False
    importlib.reload(tweetup.urls)
    clear_url_caches()


def test_without_debug_django_leaves_the_uploads_to_nginx(client, media_root):
    contest = contest_save(contest=ContestFactory.build(banner=photo()))
    address = "/media/" + contest.banner_card.name
    assert client.get(address).status_code == 404


def test_make_run_serves_the_banner_card(client, media_root, urls_with_debug):
    contest = contest_save(contest=ContestFactory.build(banner=photo()))
    response = client.get("/media/" + contest.banner_card.name)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (1200, 630)


def test_the_migration_writes_the_banners_stored_before_without_their_metadata(media_root):
    """contests 0012: a photo stored as uploaded, as before, loses its metadata."""
    contest = contest_save(contest=ContestFactory.build(banner=photo()))
    for name in (contest.banner.name, contest.banner_card.name):
        (media_root / name).write_bytes(photo_with_position())
    # A file gone from the storage is passed over.
    ContestFactory(slug="gone-banner", banner="contests/banners/gone.jpg")
    migration = "0012_banners_without_metadata"
    state = MigrationLoader(connection).project_state(("contests", migration))
    module = importlib.import_module(f"contests.migrations.{migration}")
    module.banners_without_metadata(state.apps, None)
    for name in (contest.banner.name, contest.banner_card.name):
        assert assert_no_metadata(media_root / name).size == (3000, 2000), name
