"""Image backends: turn an :class:`~iiif.image_api.ImagePlan` into encoded bytes.

The Image API grammar (``iiif.image_api``) decides *what* to make; a backend
decides *how*, behind one small interface (STYLE.md §6, after zimeon's
manipulators): :meth:`ImageBackend.describe` reads a pyramid's levels and
:meth:`ImageBackend.render` executes a plan. ``IIIF_IMAGE_BACKEND`` names the
class by dotted path.

:class:`PyvipsBackend` reads the tiled pyramidal TIFF that
``iiif.services.page_pyramid_make`` writes (``tiffsave(pyramid=True)``: each
level is a further TIFF page, half the size of the one before, in 256-px JPEG
tiles). A request is served from the smallest level that still has the
resolution it needs, reading only the tiles under the region, so a small tile
of a large page never decodes the full-resolution image.
"""

from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyvips
import simplejpeg
import tifffile

from iiif.image_api import ImagePlan

#: TIFF codes: JPEG compression, and the two colour models whose tiles are
#: plain JPEG streams (YCbCr colour, one-band gray).
_TIFF_JPEG = 7
_TIFF_YCBCR = 6
_TIFF_MINISBLACK = 1
#: JPEG markers: start and end of image, and a JFIF APP0 segment (version 1.1,
#: no density, no thumbnail) so a joined tile is a standard JFIF file.
_SOI = b"\xff\xd8"
_EOI = b"\xff\xd9"
_JFIF = bytes.fromhex("ffe000104a46494600010100000100010000")


class BackendError(Exception):
    """The pyramid could not be read or the image could not be made."""


@dataclass(frozen=True)
class PyramidInfo:
    """What a backend knows of one pyramid file.

    Attributes:
        width: the full image's width.
        height: the full image's height.
        levels: ``(width, height)`` of each level, full size first.
        color: whether the image has colour (three bands) or is gray.
    """

    width: int
    height: int
    levels: tuple[tuple[int, int], ...]
    color: bool


class ImageBackend:
    """The interface every image backend implements."""

    #: Part of every image's ETag: change it when the same request would give
    #: other bytes from the same file (a strong ETag names exact bytes).
    revision = "1"

    def describe(self, path: Path) -> PyramidInfo:
        """Read the pyramid's dimensions and levels (headers only).

        Raises:
            BackendError: the file is missing or unreadable.
        """
        raise NotImplementedError

    def render(self, path: Path, plan: ImagePlan) -> bytes:
        """Make the image a resolved request asks for, encoded in its format.

        Raises:
            BackendError: the file is missing or unreadable.
        """
        raise NotImplementedError


def _signature(path: Path) -> tuple[str, int, int]:
    try:
        stat = path.stat()
    except OSError as exc:
        raise BackendError(f"cannot read {path.name}: {exc.strerror}") from exc
    return str(path), stat.st_mtime_ns, stat.st_size


class _Lru:
    """A small thread-safe least-recently-used mapping.

    Args:
        size: the budget, in items, or in what ``weight`` measures.
        weight: the share of the budget a value takes (1 by default); a
            value larger than the whole budget is not kept.
    """

    def __init__(self, size: int, weight=None):
        self._size = size
        self._weight = weight or (lambda value: 1)
        self._total = 0
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        if self._weight(value) > self._size:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._total -= self._weight(old)
            self._items[key] = value
            self._total += self._weight(value)
            while self._total > self._size:
                _, dropped = self._items.popitem(last=False)
                self._total -= self._weight(dropped)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._total = 0


class _DecodedTiles(_Lru):
    """Decoded tiles kept for the next region, bounded by their bytes (thread-safe).

    A reader zooming into a detail asks for regions that overlap: a 512-px
    region touches nine 256-px tiles, and the next one shares three to six of
    them. IIPImage keeps decoded tiles for the same reason (its tile cache).
    Arrays are stored read-only: every thread only copies out of them.
    """

    def __init__(self, max_bytes: int):
        super().__init__(max_bytes, weight=lambda tile: tile.nbytes)

    def put(self, key, tile) -> None:
        tile.flags.writeable = False
        super().put(key, tile)

    @property
    def nbytes(self) -> int:
        return self._total


@dataclass(frozen=True)
class _JpegLevel:
    """Where one pyramid level's JPEG tiles are in the file."""

    width: int
    height: int
    tile_width: int
    tile_height: int
    offsets: tuple[int, ...]
    counts: tuple[int, ...]
    #: The JPEGTables tag: quantisation and Huffman tables shared by every tile.
    tables: bytes
    #: 3 (colour, YCbCr) or 1 (grey).
    bands: int = 3


def _jpeg_levels(path: str) -> tuple[_JpegLevel | None, ...]:
    """Each TIFF page's tile map when its tiles can be sent as they are, else None."""
    levels: list[_JpegLevel | None] = []
    try:
        with tifffile.TiffFile(path) as tif:
            for page in tif.pages:
                tables = page.jpegtables or b""
                usable = (
                    page.is_tiled
                    and page.compression == _TIFF_JPEG
                    and page.planarconfig == 1
                    and page.bitspersample == 8
                    and page.imagedepth == 1
                    and (
                        (page.photometric == _TIFF_YCBCR and page.samplesperpixel == 3)
                        or (
                            page.photometric == _TIFF_MINISBLACK
                            and page.samplesperpixel == 1
                        )
                    )
                    and tables.startswith(_SOI)
                    and tables.endswith(_EOI)
                )
                levels.append(
                    _JpegLevel(
                        width=page.imagewidth,
                        height=page.imagelength,
                        tile_width=page.tilewidth,
                        tile_height=page.tilelength,
                        offsets=tuple(page.dataoffsets),
                        counts=tuple(page.databytecounts),
                        tables=bytes(tables),
                        bands=page.samplesperpixel,
                    )
                    if usable
                    else None
                )
    except (OSError, ValueError, tifffile.TiffFileError):
        return ()
    return tuple(levels)


#: Decoded tiles a backend keeps for the next region, per process: 48 MiB is
#: 256 RGB tiles of 256 px, the tiles of about thirty 512-px regions.
DECODED_TILE_BYTES = 48 * 2**20

_pool: tuple[int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _decoders() -> ThreadPoolExecutor:
    """This process's threads for decoding tiles (made again after a fork)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid():
            workers = max(1, min(4, os.cpu_count() or 1))
            _pool = (
                os.getpid(),
                ThreadPoolExecutor(workers, thread_name_prefix="iiif-decode"),
            )
        return _pool[1]


def _tile_data(fd: int, stored: _JpegLevel, index: int) -> bytes | None:
    """One stored tile's JPEG data (without the shared tables), or None if odd."""
    if index >= len(stored.offsets):
        return None
    data = os.pread(fd, stored.counts[index], stored.offsets[index])
    if len(data) != stored.counts[index] or not data.startswith(_SOI):
        return None
    return data


class PyvipsBackend(ImageBackend):
    """The libvips backend: level choice, region reads, exact resize, encoders.

    Opened pyramid levels are kept in a small LRU keyed by path, modification
    time and size, so consecutive tiles of one page reuse the open file, and a
    replaced file is reopened. libvips images are immutable and safe to share
    between threads; each request only builds a new pipeline on top.

    Args:
        max_open: how many opened levels to keep.
        decoded_tile_bytes: how many bytes of decoded tiles to keep for the
            next region (:class:`_DecodedTiles`; 0 keeps none).
        jpeg_quality: the JPEG quality factor (the pyramid itself is Q 85).
        webp_quality: the WebP quality factor.
    """

    #: 2: whole stored tiles are sent as they are in the file; 3: regions at a
    #: level's own scale are put together from its tiles (simplejpeg).
    revision = "3"

    def __init__(
        self,
        *,
        max_open: int = 64,
        jpeg_quality: int = 85,
        webp_quality: int = 80,
        decoded_tile_bytes: int = DECODED_TILE_BYTES,
    ):
        self.jpeg_quality = jpeg_quality
        self.webp_quality = webp_quality
        self._levels = _Lru(max_open)
        self._info = _Lru(max_open)
        self._tiles = _Lru(max_open)
        self._decoded = _DecodedTiles(decoded_tile_bytes)

    # Reading ---------------------------------------------------------------

    def _open(self, signature: tuple[str, int, int], page: int) -> pyvips.Image:
        key = (*signature, page)
        image = self._levels.get(key)
        if image is None:
            try:
                image = pyvips.Image.new_from_file(
                    signature[0], page=page, access="random", fail_on="error"
                )
            except pyvips.Error as exc:
                raise BackendError(f"cannot open page {page} of the pyramid") from exc
            self._levels.put(key, image)
        return image

    def describe(self, path: Path) -> PyramidInfo:
        """Read the full size and every level of a pyramid (see :class:`ImageBackend`)."""
        signature = _signature(path)
        info = self._info.get(signature)
        if info is not None:
            return info
        first = self._open(signature, 0)
        pages = first.get("n-pages") if "n-pages" in first.get_fields() else 1
        levels = [(first.width, first.height)]
        for page in range(1, pages):
            level = self._open(signature, page)
            prev_w, prev_h = levels[-1]
            # A pyramid level halves the one before; any other page (a
            # thumbnail, an unrelated image) ends the pyramid.
            if abs(level.width - prev_w / 2) > 1 or abs(level.height - prev_h / 2) > 1:
                break
            levels.append((level.width, level.height))
        info = PyramidInfo(
            width=first.width,
            height=first.height,
            levels=tuple(levels),
            color=first.bands >= 3,
        )
        self._info.put(signature, info)
        return info

    @staticmethod
    def level_for(info: PyramidInfo, plan: ImagePlan) -> int:
        """The smallest level whose pixels still cover the output size.

        A level may be up to one pixel short of the output (pyramid halving
        rounds down); scaling it up by that fraction of a pixel is invisible.
        """
        _, _, rw, rh = plan.region
        ow, oh = plan.size
        for index in range(len(info.levels) - 1, 0, -1):
            lw, lh = info.levels[index]
            if rw * lw / info.width >= ow - 1 and rh * lh / info.height >= oh - 1:
                return index
        return 0

    # Rendering -------------------------------------------------------------

    def render(self, path: Path, plan: ImagePlan) -> bytes:
        """Region, size, rotation, quality, format, in the order of §4.6."""
        signature = _signature(path)
        info = self.describe(path)
        if plan.full != (info.width, info.height):
            raise BackendError("the plan was made for another image size")
        level = self.level_for(info, plan)
        stored = self._stored_tile(signature, info, level, plan)
        if stored is not None:
            return stored
        composed = self._composed(signature, info, level, plan)
        if composed is not None:
            return composed
        try:
            image = self._region(self._open(signature, level), info, level, plan)
            image = self._rotate(image, plan)
            image = self._quality(image, plan.quality)
            return self._encode(image, plan)
        except pyvips.Error as exc:
            raise BackendError("libvips could not make the image") from exc

    @staticmethod
    def _box(
        info: PyramidInfo, level: int, plan: ImagePlan
    ) -> tuple[int, int, int, int]:
        """The region in the level's pixels: left, top, right, bottom."""
        x, y, rw, rh = plan.region
        lw, lh = info.levels[level]
        fx, fy = info.width / lw, info.height / lh
        eps = 1e-6
        left = min(lw - 1, math.floor(x / fx + eps))
        top = min(lh - 1, math.floor(y / fy + eps))
        right = max(left + 1, min(lw, math.ceil((x + rw) / fx - eps)))
        bottom = max(top + 1, min(lh, math.ceil((y + rh) / fy - eps)))
        return left, top, right, bottom

    def _stored_tile(
        self,
        signature: tuple[str, int, int],
        info: PyramidInfo,
        level: int,
        plan: ImagePlan,
    ) -> bytes | None:
        """The file's own JPEG tile when the plan asks for exactly one, else None.

        Exact means: JPEG, default or colour quality, no rotation or mirror,
        the level's region is one whole tile on the tile grid, and its size is
        the output size (nothing to scale). The level must also be an exact
        fraction of the full size, so the region maps onto whole level pixels.
        """
        if plan.format != "jpg" or plan.quality not in ("default", "color"):
            return None
        if plan.mirror or plan.degrees % 360:
            return None
        lw, lh = info.levels[level]
        if info.width % lw or info.height % lh:
            return None
        left, top, right, bottom = self._box(info, level, plan)
        if (right - left, bottom - top) != plan.size:
            return None
        x, y, rw, rh = plan.region
        scale = info.width // lw
        if (x, y, rw, rh) != (
            left * scale,
            top * scale,
            (right - left) * scale,
            (bottom - top) * scale,
        ):
            return None
        stored = self._jpeg_level(signature, level, (lw, lh))
        if stored is None:
            return None
        tw, th = stored.tile_width, stored.tile_height
        if left % tw or top % th or right - left != tw or bottom - top != th:
            return None
        index = (top // th) * math.ceil(lw / tw) + left // tw
        try:
            fd = os.open(signature[0], os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
            try:
                data = _tile_data(fd, stored, index)
            finally:
                os.close(fd)
        except OSError as exc:
            raise BackendError("cannot read a tile of the pyramid") from exc
        if data is None:
            return None
        return _SOI + _JFIF + stored.tables[2:-2] + data[2:]

    def _jpeg_level(
        self, signature: tuple[str, int, int], level: int, size: tuple[int, int]
    ) -> _JpegLevel | None:
        """The level's tile map when its tiles are JPEG the way :func:`_jpeg_levels` needs."""
        tiles = self._tiles.get(signature)
        if tiles is None:
            tiles = _jpeg_levels(signature[0])
            self._tiles.put(signature, tiles)
        stored = tiles[level] if level < len(tiles) else None
        if stored is None or (stored.width, stored.height) != size:
            return None
        return stored

    def _composed(
        self,
        signature: tuple[str, int, int],
        info: PyramidInfo,
        level: int,
        plan: ImagePlan,
    ) -> bytes | None:
        """A JPEG of a region at its level's own scale, put together from the file's tiles.

        A 512-px detail at full size, or a viewer's edge tile, needs no scaling:
        decoding the stored tiles it touches with libjpeg-turbo (``simplejpeg``)
        and encoding the region once takes about two thirds of the CPU time of
        libvips' pipeline for the same pixels (it decodes the same tiles with the
        same library; bench/iiif_tiles.py). None when the plan needs more than
        that (scaling, rotation, another quality or format) or the level's tiles
        are not plain JPEG: libvips then makes the image.
        """
        if plan.format != "jpg" or plan.quality not in ("default", "color"):
            return None
        if plan.mirror or plan.degrees % 360:
            return None
        left, top, right, bottom = self._box(info, level, plan)
        width, height = right - left, bottom - top
        if (width, height) != plan.size:
            return None
        stored = self._jpeg_level(signature, level, info.levels[level])
        if stored is None or stored.bands not in (1, 3):
            return None
        colorspace = "RGB" if stored.bands == 3 else "GRAY"
        tw, th = stored.tile_width, stored.tile_height
        across = math.ceil(stored.width / tw)
        head = _SOI + stored.tables[2:-2]
        out = np.empty((height, width, stored.bands), np.uint8)
        places = [
            (row, column)
            for row in range(top // th, (bottom - 1) // th + 1)
            for column in range(left // tw, (right - 1) // tw + 1)
        ]
        keys = [(signature, level, row * across + column) for row, column in places]
        tiles = [self._decoded.get(key) for key in keys]
        missing = [i for i, tile in enumerate(tiles) if tile is None]
        try:
            with open(signature[0], "rb") as fh:
                stored_data = [
                    _tile_data(fh.fileno(), stored, keys[i][2]) for i in missing
                ]
        except OSError as exc:
            raise BackendError("cannot read a tile of the pyramid") from exc
        if None in stored_data:
            return None

        def decode(data: bytes):
            return simplejpeg.decode_jpeg(head + data[2:], colorspace=colorspace)

        try:
            # libjpeg-turbo lets go of the interpreter lock: a region's tiles
            # are decoded on the idle cores too (as libvips' own threads did).
            decoded = (
                _decoders().map(decode, stored_data)
                if len(stored_data) > 1
                else [decode(data) for data in stored_data]
            )
            for i, tile in zip(missing, decoded, strict=True):
                if tile.shape != (th, tw, stored.bands):
                    return None
                self._decoded.put(keys[i], tile)
                tiles[i] = tile
            for (row, column), tile in zip(places, tiles, strict=True):
                x0, y0 = max(left, column * tw), max(top, row * th)
                x1 = min(right, (column + 1) * tw)
                y1 = min(bottom, (row + 1) * th)
                out[y0 - top : y1 - top, x0 - left : x1 - left] = tile[
                    y0 - row * th : y1 - row * th,
                    x0 - column * tw : x1 - column * tw,
                ]
        except ValueError:
            return None  # a tile libjpeg-turbo cannot read: libvips will say why
        return simplejpeg.encode_jpeg(
            out,
            quality=self.jpeg_quality,
            colorspace=colorspace,
            colorsubsampling="420" if stored.bands == 3 else "Gray",
            fastdct=False,
        )

    @classmethod
    def _region(
        cls, image: pyvips.Image, info: PyramidInfo, level: int, plan: ImagePlan
    ):
        ow, oh = plan.size
        lw, lh = info.levels[level]
        left, top, right, bottom = cls._box(info, level, plan)
        if (left, top, right, bottom) != (0, 0, lw, lh):
            image = image.crop(left, top, right - left, bottom - top)
        if (image.width, image.height) != (ow, oh):
            image = image.resize(ow / image.width, vscale=oh / image.height)
        return image

    @staticmethod
    def _rotate(image: pyvips.Image, plan: ImagePlan) -> pyvips.Image:
        if plan.mirror:
            image = image.fliphor()
        degrees = plan.degrees % 360
        if degrees == 0:
            return image
        if degrees == 90:
            return image.rot90()
        if degrees == 180:
            return image.rot180()
        if degrees == 270:
            return image.rot270()
        if plan.format in ("png", "webp"):
            # §4.3 recommends a transparent background where the format has one.
            if not image.hasalpha():
                image = image.bandjoin_const([255])
            background = [0] * image.bands
        else:
            background = [255] * image.bands
        return image.rotate(degrees, background=background)

    @staticmethod
    def _quality(image: pyvips.Image, quality: str) -> pyvips.Image:
        if quality in ("default", "color"):
            return image
        alpha = None
        if image.hasalpha():
            alpha = image[image.bands - 1]
            image = image.extract_band(0, n=image.bands - 1)
        if image.bands >= 3:
            image = image.colourspace("b-w")
        if quality == "bitonal":
            image = (image > 127).ifthenelse(255, 0).cast("uchar")
        image = image.copy(interpretation="b-w")
        return image.bandjoin(alpha) if alpha is not None else image

    def _encode(self, image: pyvips.Image, plan: ImagePlan) -> bytes:
        fmt = plan.format
        if fmt == "jpg":
            if image.hasalpha():
                image = image.flatten(background=[255] * (image.bands - 1))
            # No Huffman optimisation: it made every JPEG a third slower to
            # encode for about 6 % fewer bytes (bench/iiif_tiles.py), and
            # rendered public images are kept in the tile cache anyway.
            return image.jpegsave_buffer(
                Q=self.jpeg_quality, optimize_coding=False, keep="none"
            )
        if fmt == "png":
            options = {"compression": 6, "keep": "none"}
            if plan.quality == "bitonal" and image.bands == 1:
                options["bitdepth"] = 1  # black and white only: 1 bit a pixel
            return image.pngsave_buffer(**options)
        if fmt == "webp":
            return image.webpsave_buffer(Q=self.webp_quality, keep="none")
        raise BackendError(f"no encoder for {fmt}")
