"""A contest's banner: the organizer's photo, and the card its links show when shared.

The card (Open Graph and X/Twitter share image) is made once, when the contest
is saved: cropped to 1200 × 630 around the centre, upright as the camera held
it (EXIF orientation), in RGB JPEG. The photo itself is kept as uploaded but
written again, upright, in its own format: neither file keeps the original's
metadata (EXIF with its GPS position and camera, XMP, comments, text chunks),
since Pillow writes only what it is given. Only the colour profile stays.
"""

import hashlib
import io
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError

from ..errors import ContestError
from ..models import Contest

CARD_SIZE = (1200, 630)
# Refused before decoding: a file larger than this, or an image of more pixels
# (a small compressed file can decode to gigabytes).
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
# What browsers and social networks read; the extension the original is stored with.
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def _refuse(message: str) -> ContestError:
    return ContestError(message, extra={"fields": {"banner": message}})


def banner_open(file) -> Image.Image:
    """The uploaded banner as an image, still undecoded; ContestError when it cannot be one.

    Refuses a file over MAX_BYTES, one that is not a JPEG, PNG or WebP image,
    and an image of more than MAX_PIXELS pixels.
    """
    if file.size is not None and file.size > MAX_BYTES:
        raise _refuse(
            _("The banner is %(size)s; it may be at most %(max)s.")
            % {"size": filesizeformat(file.size), "max": filesizeformat(MAX_BYTES)}
        )
    file.seek(0)
    try:
        image = Image.open(file)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        raise _refuse(_("The banner is not an image: upload a JPEG, PNG or WebP photo.")) from None
    if image.format not in FORMATS:
        raise _refuse(_("The banner is not an image: upload a JPEG, PNG or WebP photo."))
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise _refuse(
            _(
                "The banner is %(width)s × %(height)s pixels; it may have at most "
                "%(max)s million pixels."
            )
            % {"width": width, "height": height, "max": MAX_PIXELS // 1_000_000}
        )
    return image


def banner_card(image: Image.Image) -> bytes:
    """The share card of an image: 1200 × 630, upright, RGB JPEG, no metadata."""
    try:
        # A JPEG decodes at 1/2, 1/4 or 1/8 of its size straight from its DCT
        # data, so a camera's 24 MP costs what a few need: the largest that
        # still covers the card whichever way the photo turns.
        image.draft("RGB", (CARD_SIZE[0], CARD_SIZE[0]))
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA") or "transparency" in image.info:
            # Transparent parts on white, not on whatever colour they hide.
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, "white")
            image.paste(rgba, mask=rgba.getchannel("A"))
        else:
            image = image.convert("RGB")
        card = ImageOps.fit(image, CARD_SIZE, method=Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError):
        # Truncated or corrupt past its header.
        raise _refuse(_("The banner is not an image: upload a JPEG, PNG or WebP photo.")) from None
    # What the photo carried along (a JPEG's comment, which Pillow writes
    # back by itself) stays out of the card.
    card.info = {}
    out = io.BytesIO()
    card.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return out.getvalue()


def banner_without_metadata(image: Image.Image) -> bytes:
    """The photo written again in its own format, upright, with no metadata but its colours.

    A JPEG keeps its quantization tables and subsampling, so it loses no
    more than the one more pass of the encoder costs; a PNG loses nothing.
    Raises ContestError for an image that fails to decode.
    """
    kind = image.format
    try:
        image.load()
        # The colour profile, and a palette's transparent colour, are part of
        # the picture; everything else in ``info`` tells where and how it was taken.
        keep = {
            key: image.info[key] for key in ("icc_profile", "transparency") if key in image.info
        }
        options: dict = {}
        if kind == "JPEG" and image.mode == "CMYK":
            # An Adobe CMYK JPEG written back by Pillow reads inverted elsewhere;
            # its colour profile is a printer's, not the RGB copy's.
            upright, options = ImageOps.exif_transpose(image).convert("RGB"), {"quality": 95}
            keep.pop("icc_profile", None)
        else:
            if kind == "JPEG":
                options["qtables"] = image.quantization
                if (sampling := JpegImagePlugin.get_sampling(image)) != -1:
                    options["subsampling"] = sampling
            elif kind == "WEBP":
                options["quality"] = 90
            upright = ImageOps.exif_transpose(image)
        upright.info = {}
        out = io.BytesIO()
        upright.save(out, kind, **keep, **options)
    except (OSError, ValueError, SyntaxError):
        raise _refuse(_("The banner is not an image: upload a JPEG, PNG or WebP photo.")) from None
    return out.getvalue()


def banner_check(file) -> None:
    """Raise ContestError, as ``banner_prepare`` would, when this file cannot be a banner.

    For forms, to show the reason on the field before anything is saved.
    """
    banner_card(banner_open(file))
    file.seek(0)


def banner_prepare(*, contest: Contest) -> None:
    """Store a banner newly set on the contest, and its card; clear the card with the banner.

    Call before saving the contest (``contest_save`` does). Raises
    ContestError, with ``extra["fields"]["banner"]``, when the file is
    refused. The files a new banner replaces are deleted once the contest is
    saved.
    """
    new = bool(contest.banner) and not contest.banner._committed
    if contest.banner and not new:
        return  # The banner stored already, its card with it.
    # Only a new banner, or one cleared, leaves files behind: read their names then.
    old = (
        Contest.objects.filter(pk=contest.pk).values("banner", "banner_card").first()
        if contest.pk and (new or contest.banner_card)
        else None
    )
    if new:
        upload = contest.banner.file
        image = banner_open(upload)
        extension = FORMATS[image.format]
        photo = banner_without_metadata(image)
        upload.seek(0)
        card = banner_card(banner_open(upload))
        # An unguessable name: the photo is linked from no page.
        contest.banner.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(photo), save=False)
        digest = hashlib.sha256(card).hexdigest()[:16]
        # A new name for each card, so no cache keeps an old one; it fits the
        # column's 100 characters whatever the slug's length (80 at most).
        name = f"{contest.slug[:40]}-{digest}.jpg"
        contest.banner_card.save(name, ContentFile(card), save=False)
    elif not contest.banner:
        contest.banner = ""
        contest.banner_card = ""
    if old:
        stale = {name for name in old.values() if name} - {
            contest.banner.name,
            contest.banner_card.name,
        }
        if stale:
            transaction.on_commit(lambda: [default_storage.delete(name) for name in stale])
