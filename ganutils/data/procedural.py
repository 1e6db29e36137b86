"""Embedded procedural datasets: faces, eyes and anime faces rendered by code.

Every chapter trains on these by default: they need no download, are
deterministic by seed, and come with the factors that generated each image
(skin tone, hair colour, smile, iris colour, ...), which later chapters use
for attribute vectors and for a factor-coverage check of mode collapse.

Images are drawn with vectorised numpy over a batch: shapes are signed
distance functions (ellipses, circles, bands between two curves) turned into
anti-aliased coverage with ``clip(0.5 - sdf / pixel, 0, 1)`` and shaded with a
simple lighting term. Below 48 px the scene is drawn at twice the size and
box-downsampled so tiny features stay smooth.
"""

import math
import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np

KINDS = ("faces", "eyes", "anime")
DEFAULT_SIZE = {"faces": 64, "eyes": 128, "anime": 64}

FACTORS = {
    "faces": {
        "skin_tone": None,  # 0 = very light ... 1 = very dark
        "face_shape": ["oval", "round", "long", "square", "heart"],
        "hair_style": ["short", "long", "buzz", "bun", "curly", "bob"],
        "hair_color": ["black", "brown", "blond", "red", "grey"],
        "iris_color": ["brown", "hazel", "green", "blue", "grey"],
        "glasses": ["none", "round", "rectangular"],
        "background": ["blue", "grey", "green", "beige", "purple"],
        "smile": None,  # 0 = neutral ... 1 = broad open smile
        "face_width": None,  # 0 = narrow ... 1 = wide
        "light": None,  # light direction: 0 = from the left ... 1 = from the right
        "pose_x": None,  # horizontal offset: 0 = left ... 1 = right
        "tilt": None,  # head roll: 0 = counter-clockwise ... 1 = clockwise
        "scale": None,  # 0 = small ... 1 = large
    },
    "eyes": {
        "iris_color": ["brown", "hazel", "green", "blue", "grey"],
        "eye_shape": ["almond", "round", "hooded", "upturned"],
        "makeup": ["none", "liner", "shadow"],
        "brow_color": ["black", "brown", "blond", "red", "grey"],
        "skin_tone": None,
        "openness": None,  # 0 = nearly closed ... 1 = wide open
        "pupil_size": None,
        "gaze_x": None,  # 0 = looking left ... 1 = looking right
        "light": None,
    },
    "anime": {
        "hair_color": ["pink", "blue", "purple", "orange", "green", "blonde", "black", "white"],
        "eye_color": ["red", "blue", "green", "purple", "gold", "brown"],
        "hair_style": ["short", "long", "twintails", "bob"],
        "bangs": ["straight", "spiky", "parted"],
        "mouth": ["smile", "open", "neutral"],
        "blush": ["none", "blush"],
        "skin_tone": None,  # 0 = palest ... 1 = light tan
        "background_hue": None,  # hue of the pastel background
        "eye_size": None,
        "pose_x": None,
        "tilt": None,
    },
}

_F = np.float32
_CHUNK = 64  # factors are drawn per chunk of this many images (keyed by chunk index)
_KIND_ID = {"faces": 1, "eyes": 2, "anime": 3}
_MIN_SIZE, _MAX_SIZE = 8, 512
_JOB_PIXELS = 1 << 17  # pixels per render job: small enough to stay in cache


# --------------------------------------------------------------------------------------
# Small drawing toolkit. Arrays are planar: canvas [3, B, H, W], masks [B, H, W],
# per-image parameters [B, 1, 1] so they broadcast over pixels.
# --------------------------------------------------------------------------------------


def _col(rgb):
    """Per-image colours (B, 3) -> [3, B, 1, 1] for broadcasting over a canvas."""
    return np.ascontiguousarray(np.asarray(rgb, _F).T)[:, :, None, None]


def _b(v):
    """Per-image scalar (B,) -> [B, 1, 1]."""
    return np.asarray(v, _F)[:, None, None]


def _cov(d, aa):
    """Anti-aliased coverage of the region ``d < 0``; ``aa`` is one pixel in d's units."""
    c = d / aa
    np.subtract(_F(0.5), c, out=c)
    np.clip(c, 0.0, 1.0, out=c)
    return c


def _soft(d, width):
    """Soft coverage falling from 1 to 0 over ``width`` around ``d = 0`` (compact support)."""
    c = d / width
    np.subtract(_F(0.5), c, out=c)
    np.clip(c, 0.0, 1.0, out=c)
    # smoothstep for a gentle falloff
    return c * c * (3.0 - 2.0 * c)


def _ellipse(x, y, rx, ry):
    """Approximate signed distance to an axis-aligned ellipse (exact on the boundary)."""
    a = x / rx
    b = y / ry
    k0 = np.sqrt(a * a + b * b + _F(1e-12))
    a /= rx
    b /= ry
    k1 = np.sqrt(a * a + b * b + _F(1e-12) / (rx * ry))
    k0 -= 1.0
    return k0 * (k0 + 1.0) / k1


def _circle(x, y, r):
    return np.sqrt(x * x + y * y) - r


def _lens(x, y, w, t0, t1, b0, b1):
    """Region between two parabolas over |x| < w: top(x) = t0 + t1 u^2, bottom = b0 + b1 u^2.

    With t0 + t1 == b0 + b1 the curves meet at the ends (an almond, a lip, a brow).
    Returns an approximate signed distance (vertical distance over the slope).
    """
    u = x / w
    u2 = u * u
    top = t0 + t1 * u2
    bot = b0 + b1 * u2
    st = (2.0 / w) * t1 * u
    sb = (2.0 / w) * b1 * u
    dt = (top - y) / np.sqrt(1.0 + st * st)
    db = (y - bot) / np.sqrt(1.0 + sb * sb)
    d = np.maximum(dt, db)
    return np.maximum(d, np.abs(x) - w, out=d)


def _smin(a, b, k):
    """Smooth union of two distance fields (blend radius ``k``)."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def _paint(canvas, alpha, color):
    """Alpha-blend ``color`` ([3,B,1,1] or [3,B,H,W]) over ``canvas`` with coverage ``alpha``."""
    for c in range(3):
        ch = canvas[c]
        d = color[c] - ch
        d *= alpha
        ch += d


def _shade(canvas, alpha, factor):
    """Multiply the canvas by ``1 - alpha * (1 - factor)`` (darken for factor < 1)."""
    m = alpha * (factor - 1.0)
    m += 1.0
    canvas *= m


def _rot(x, y, th):
    c, s = np.cos(th), np.sin(th)
    return x * c + y * s, y * c - x * s


class _Window:
    """A fixed-size pixel window per image around a feature, for drawing small parts cheaply.

    The window size depends only on the resolution and a fixed extent (never on the batch),
    and content is computed from true pixel coordinates, so an image's pixels do not depend
    on the other images in its batch.
    """

    def __init__(self, canvas, cx, cy, hx, hy, R):
        B = canvas.shape[1]
        px = 2.0 / R
        kx = min(R, int(math.ceil(2 * hx / px)) + 2)
        ky = min(R, int(math.ceil(2 * hy / px)) + 2)
        x0 = np.clip(np.floor((np.asarray(cx) + 1.0) / px - kx / 2.0 + 0.5), 0, R - kx).astype(np.intp)
        y0 = np.clip(np.floor((np.asarray(cy) + 1.0) / px - ky / 2.0 + 0.5), 0, R - ky).astype(np.intp)
        # gather/scatter through a sliding-window view: contiguous row copies, no fancy indexing
        self.view = np.lib.stride_tricks.sliding_window_view(canvas, (ky, kx), axis=(2, 3), writeable=True)
        self.idx = (slice(None), np.arange(B), y0, x0)
        self.X = (((x0[:, None] + np.arange(kx)) + 0.5) * px - 1.0).astype(_F)[:, None, :]
        self.Y = (((y0[:, None] + np.arange(ky)) + 0.5) * px - 1.0).astype(_F)[:, :, None]
        self.sub = self.view[self.idx]

    def commit(self):
        self.view[self.idx] = self.sub


class _Frame:
    """Local coordinates of a head: image point -> head frame (offset, scale, tilt)."""

    def __init__(self, cx, cy, s, th, px):
        self.cx, self.cy = _b(cx), _b(cy)
        self.c = _b(np.cos(th) / s)
        self.s = _b(np.sin(th) / s)
        self.aa = _b(px / np.asarray(s, _F))

    def local(self, X, Y):
        dx = X - self.cx
        dy = Y - self.cy
        return dx * self.c + dy * self.s, dy * self.c - dx * self.s

    def window(self, canvas, lx, ly, hx, hy, R, smax=1.3, tmax=0.16):
        """A _Window around head-frame point (lx, ly) covering a head-frame box of half-size (hx, hy).

        ``smax``/``tmax`` bound the scale and tilt, so the window size is the same for every image.
        """
        # image position of the local point (inverse of local())
        inv = 1.0 / (self.c * self.c + self.s * self.s)[:, 0, 0]
        c, s = self.c[:, 0, 0] * inv, self.s[:, 0, 0] * inv
        cx = self.cx[:, 0, 0] + lx * c - ly * s
        cy = self.cy[:, 0, 0] + lx * s + ly * c
        ct, st = math.cos(tmax), math.sin(tmax)
        return _Window(canvas, cx, cy, smax * (hx * ct + hy * st), smax * (hy * ct + hx * st), R)


def _lerp_palette(keys, t):
    """Piecewise-linear colour ramp: keys (K, 3) evenly spaced over t in [0, 1]."""
    keys = np.asarray(keys, _F)
    k = len(keys) - 1
    f = np.clip(np.asarray(t, _F) * k, 0, k - 1e-6)
    i = f.astype(int)
    w = (f - i)[:, None]
    return keys[i] * (1 - w) + keys[i + 1] * w


def _jitter(rng, base, amount):
    """Colour (B, 3) with a small per-image multiplicative jitter."""
    return np.clip(base * (1.0 + amount * rng.uniform(-1, 1, base.shape)), 0, 1).astype(_F)


# --------------------------------------------------------------------------------------
# faces
# --------------------------------------------------------------------------------------

_SKIN_KEYS = [
    (0.99, 0.86, 0.76),
    (0.93, 0.74, 0.60),
    (0.80, 0.57, 0.41),
    (0.58, 0.38, 0.24),
    (0.34, 0.21, 0.13),
]
_HAIR_RGB = np.array(
    [
        (0.09, 0.07, 0.06),  # black
        (0.33, 0.19, 0.10),  # brown
        (0.86, 0.69, 0.42),  # blond
        (0.66, 0.26, 0.10),  # red
        (0.68, 0.67, 0.66),  # grey
    ],
    _F,
)
_IRIS_RGB = np.array(
    [
        (0.36, 0.19, 0.08),  # brown
        (0.52, 0.40, 0.16),  # hazel
        (0.26, 0.52, 0.26),  # green
        (0.28, 0.50, 0.85),  # blue
        (0.55, 0.61, 0.66),  # grey
    ],
    _F,
)
_BG_RGB = np.array(
    [
        (0.45, 0.60, 0.80),  # blue
        (0.62, 0.62, 0.62),  # grey
        (0.50, 0.66, 0.48),  # green
        (0.84, 0.76, 0.62),  # beige
        (0.60, 0.50, 0.72),  # purple
    ],
    _F,
)
# face_shape -> (cheek width multiplier, cranium half-height, jaw width (fraction of the
# cheeks), jaw half-height, smoothing of the cheek-jaw join)
_FACE_SHAPES = np.array(
    [
        (1.00, 0.50, 0.70, 0.37, 0.10),  # oval
        (1.07, 0.47, 0.80, 0.31, 0.10),  # round
        (0.94, 0.54, 0.70, 0.43, 0.10),  # long
        (1.02, 0.48, 0.86, 0.34, 0.04),  # square
        (1.05, 0.50, 0.56, 0.38, 0.10),  # heart
    ],
    _F,
)


def _params_faces(rng, m):
    f = {
        "skin_tone": rng.random(m, dtype=_F),
        "face_shape": rng.integers(0, 5, m),
        "hair_style": rng.integers(0, 6, m),
        "hair_color": rng.choice(5, m, p=[0.3, 0.3, 0.18, 0.1, 0.12]),
        "iris_color": rng.integers(0, 5, m),
        "glasses": rng.choice(3, m, p=[0.76, 0.12, 0.12]),
        "background": rng.integers(0, 5, m),
        "smile": rng.random(m, dtype=_F),
        "face_width": rng.random(m, dtype=_F),
        "light": rng.random(m, dtype=_F),
        "pose_x": rng.random(m, dtype=_F),
        "tilt": rng.random(m, dtype=_F),
        "scale": rng.random(m, dtype=_F),
    }
    p = {
        "skin_rgb": _jitter(rng, _lerp_palette(_SKIN_KEYS, f["skin_tone"]), 0.04),
        "hair_rgb": _jitter(rng, _HAIR_RGB[f["hair_color"]], 0.12),
        "iris_rgb": _jitter(rng, _IRIS_RGB[f["iris_color"]], 0.1),
        "bg_rgb": _jitter(rng, _BG_RGB[f["background"]], 0.1),
        "shirt_rgb": rng.uniform(0.1, 0.85, (m, 3)).astype(_F),
        "frame_rgb": (rng.uniform(0.05, 0.35, (m, 1)) * np.array([1.0, 0.85, 0.7])).astype(_F),
        "cy": rng.uniform(-0.04, 0.04, m).astype(_F),
        "brow_thick": rng.uniform(0.6, 1.3, m).astype(_F),
        "brow_arch": rng.uniform(0.0, 1.0, m).astype(_F),
        "eye_open": rng.uniform(0.75, 1.15, m).astype(_F),
        "gaze": rng.uniform(-1, 1, m).astype(_F),
        "lip": rng.uniform(0.7, 1.3, m).astype(_F),
        "lip_red": rng.uniform(0.0, 1.0, m).astype(_F),
        "nose_w": rng.uniform(0.8, 1.25, m).astype(_F),
        "part": rng.uniform(-1, 1, m).astype(_F),
        "neck_w": rng.uniform(0.85, 1.15, m).astype(_F),
    }
    return f, p


def _render_faces(P, B, R):
    px = 2.0 / R
    g = (np.arange(R, dtype=_F) + 0.5) * _F(px) - 1.0
    X, Y = g[None, None, :], g[None, :, None]
    f = P
    s = 1.04 + 0.22 * f["scale"]
    th = (f["tilt"] - 0.5) * 0.30
    cx = (f["pose_x"] - 0.5) * 0.16
    cy = 0.0 + f["cy"]
    fr = _Frame(cx, cy, s, th, px)
    aa = fr.aa
    x, y = fr.local(X, Y)

    shape = _FACE_SHAPES[f["face_shape"]]
    rx = _b(0.44 * shape[:, 0] * (0.92 + 0.16 * f["face_width"]))
    cr_ry = _b(shape[:, 1])
    jaw_w = rx * _b(shape[:, 2])
    jaw_ry = _b(shape[:, 3])
    jaw_k = _b(shape[:, 4])
    jaw_cy = 0.60 - jaw_ry  # chin at y = 0.60
    ry = _b(np.full(B, 0.60, _F))
    skin = _col(f["skin_rgb"])
    hair = _col(f["hair_rgb"])
    style = f["hair_style"]
    lx = (f["light"] - 0.5) * 1.4
    L = np.stack([lx, np.full(B, -0.45, _F), np.sqrt(np.maximum(1 - lx * lx - 0.2, 0.1))], 1)
    L /= np.linalg.norm(L, axis=1, keepdims=True)
    Lx, Ly, Lz = (_b(L[:, i]) for i in range(3))

    canvas = np.empty((3, B, R, R), _F)
    # background: colour with a soft vertical gradient and a light falloff towards the lit side
    bg = _col(f["bg_rgb"])
    grad = (1.05 - 0.18 * (Y + 1.0) * 0.5) + 0.08 * X * _b(lx)
    canvas[:] = bg * grad[None]

    def is_style(*names):
        ids = [FACTORS["faces"]["hair_style"].index(nm) for nm in names]
        return _b(np.isin(style, ids).astype(_F))

    long_, curly, bob = is_style("long"), is_style("curly"), is_style("bob")
    # --- hair behind the head (long, curly, bob)
    back_h = 0.95 * long_ + 0.40 * bob + 0.25 * curly  # bottom of the hair mass
    back_w = rx + 0.10 + 0.16 * curly + 0.04 * bob
    hb_cy = -0.18 + 0.5 * back_h
    hb = _ellipse(x, y - hb_cy, back_w, 0.62 + 0.5 * back_h)
    hb = np.maximum(hb, y - back_h - 0.05 * (1 - x * x))
    has_back = long_ + curly + bob
    cover = _cov(hb, aa) * has_back
    hair_t = _hair_shade(x, y, rx, Lx, Ly, curly, aa)
    _paint(canvas, cover, hair * hair_t[None])

    # --- shoulders and neck: only the rows below image y = 0.3 can hold them
    r0 = int(R * 0.65)
    xb, yb, cb = x[:, r0:], y[:, r0:], canvas[:, :, r0:]
    nw = _b(0.19 * f["neck_w"]) * (rx / 0.44)
    sh = _ellipse(xb, yb - 1.28, 1.05, 0.54)
    shirt = _col(f["shirt_rgb"])
    sh_shade = 1.0 - 0.25 * np.clip(yb - 0.8, 0, 1) + 0.12 * xb * _b(lx)
    _paint(cb, _cov(sh, aa), shirt * sh_shade[None])
    neck = np.maximum(np.abs(xb) - nw, 0.45 - yb)
    nshade = 0.62 + 0.25 * np.clip((yb - 0.42) * 2.5, 0, 1) + 0.2 * xb * _b(lx)
    _paint(cb, _cov(neck, aa), skin * nshade[None])
    # neckline of the shirt over the neck
    nl = np.maximum(sh, 0.80 + 0.6 * xb * xb - yb)
    _paint(cb, _cov(nl, aa), shirt * sh_shade[None])

    # --- ears
    for side in (-1.0, 1.0):
        W = fr.window(canvas, side * 0.445, 0.02, 0.155, 0.14, R)
        wx, wy = fr.local(W.X, W.Y)
        ear = _ellipse(wx - side * rx * 0.98, wy - 0.02, 0.075, 0.12)
        _paint(W.sub, _cov(ear, aa), skin * (0.78 + 0.12 * side * _b(lx)))
        W.commit()

    # --- face with lighting
    face = _smin(_ellipse(x, y + 0.02, rx, cr_ry), _ellipse(x, y - jaw_cy, jaw_w, jaw_ry), jaw_k)
    xw = x
    nx = xw / rx
    ny = y / ry
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    diff = np.clip(nx * Lx + ny * Ly + nz * Lz, 0, 1)
    light = 0.50 + 0.58 * diff
    # slightly warmer shadows
    face_col = skin * light[None]
    face_col[0] += 0.04 * (1 - diff)
    fa = _cov(face, aa)
    _paint(canvas, fa, face_col)

    # --- front hair (cap with a face opening)
    _front_hair(canvas, x, y, rx, ry, hair, hair_t, aa, f, is_style, fa)

    # --- features in windows
    _face_features(canvas, fr, f, rx, skin, hair, R)
    return canvas


def _hair_shade(x, y, rx, Lx, Ly, curly, aa):
    """Hair brightness: lighting from a head-sized dome, strands fanning from the crown, a sheen."""
    nx = x / (rx + 0.15)
    ny = (y + 0.15) / 0.75
    nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0, 1.0))
    d = np.clip(nx * Lx + ny * Ly + nz * 0.75, 0, 1)
    t = 0.55 + 0.6 * d
    # strands: lines radiating from above the crown; amplitude fades when sub-pixel
    fan = x / (y + 1.1)
    freq = 38.0
    amp = np.clip(0.5 * 0.35 / (freq * aa) - 0.15, 0, 0.12)  # weaker at low resolution
    t *= 1.0 + amp * np.sin(fan * freq) * (1.0 - curly)
    # curls: blobby pattern
    cu = np.sin(x * 36.0) + np.sin(x * 18.0 + y * 31.2) + np.sin(x * 18.0 - y * 31.2)
    t *= 1.0 + 0.07 * curly * cu
    # sheen near the top
    r = np.sqrt(nx * nx + ny * ny)
    t += 0.22 * np.clip(1.0 - np.abs(r - 0.72) / 0.12, 0, 1) * np.clip(-ny, 0, 1)
    return t


def _front_hair(canvas, x, y, rx, ry, hair, hair_t, aa, f, is_style, fa):
    short, long_, buzz = is_style("short"), is_style("long"), is_style("buzz")
    bun, curly, bob = is_style("bun"), is_style("curly"), is_style("bob")
    part = _b(f["part"])
    # outer extent of the hair cap around the skull
    vol = 0.06 * short + 0.08 * long_ + 0.012 * buzz + 0.03 * bun + 0.20 * curly + 0.09 * bob
    cap = _ellipse(x, y + 0.13 + 0.06 * curly, rx + vol, 0.56 + vol * 1.1)
    # how far down the sides the cap reaches (ears / below)
    side_low = 0.02 * short - 0.05 * buzz - 0.02 * bun + 0.35 * curly + 0.15 * long_ + 0.45 * bob
    cap = np.maximum(cap, y - side_low)
    # hairline: the forehead edge; a side part for short hair, a fringe for bob
    ax = x - 0.10 * part
    hl = (
        short * (-0.37 + 0.55 * x * x + 0.05 * ax)
        + long_ * (-0.40 + 0.30 * np.abs(ax) + 0.4 * x * x)
        + buzz * (-0.42 + 0.45 * x * x)
        + bun * (-0.42 + 0.40 * x * x)
        + curly * (-0.35 + 0.35 * x * x + 0.025 * np.sin(x * 40.0))
        + bob * (-0.22 + 0.10 * x * x)
    )
    # opening where the face shows: below the hairline and inside a slightly narrow face
    open_w = rx * (0.99 - 0.06 * long_ - 0.05 * bob - 0.02 * curly)
    opening = np.maximum(_ellipse(x, y - 0.10, open_w, ry + 0.1), hl - y)
    hair_sdf = np.maximum(cap, -opening)
    # soft shadow the hair casts on the forehead
    _shade(canvas, _soft(-opening - 0.02, 0.06) * fa, 0.8)
    a = _cov(hair_sdf, aa)
    a *= 1.0 - 0.45 * buzz
    # bun on top of the head
    bn = _circle(x - 0.0, y + 0.74, 0.17)
    a = np.maximum(a, _cov(bn, aa) * bun)
    _paint(canvas, a, hair * hair_t[None])


def _face_features(canvas, fr, f, rx, skin, hair, R):
    B = canvas.shape[1]
    sm = _b(f["smile"])
    aa = fr.aa
    ey = -0.07
    eo = _b(f["eye_open"])
    iris = _col(f["iris_rgb"])
    gaze = _b(f["gaze"]) * 0.012
    thick = _b(f["brow_thick"])
    arch = _b(f["brow_arch"])
    gl = f["glasses"]
    any_gl = bool(np.any(gl > 0))
    rnd = _b((gl == 1).astype(_F))
    rect = _b((gl == 2).astype(_F))
    has_gl = rnd + rect
    frame = _col(f["frame_rgb"])
    white = _col(np.full((B, 3), (0.92, 0.89, 0.86), _F))
    black = _col(np.full((B, 3), 0.04, _F))
    hl_dx = _b(np.where(f["light"] > 0.5, 0.010, -0.010).astype(_F))
    for side in (-1.0, 1.0):
        ecx = side * 0.175
        # one window per eye: brow above, glasses rim and arm around it
        W = fr.window(canvas, ecx + side * 0.07, ey - 0.035, 0.205, 0.145, R)
        sub = W.sub
        x, y = fr.local(W.X, W.Y)
        lx_, ly_ = x - ecx, y - ey
        # socket shading
        sock = _ellipse(lx_, ly_ + 0.01, 0.12, 0.07)
        _shade(sub, _soft(sock, 0.07), 0.86)
        # eye white (almond), outer corner a little higher
        ex_, ey_ = _rot(lx_, ly_, side * 0.08)
        w = 0.075
        top, bot = -0.036 * eo - 0.006 * sm, 0.020 * eo - 0.006 * sm
        eye = _lens(ex_, ey_, w, top, -top, bot, -bot)
        ea = _cov(eye, aa)
        _paint(sub, ea, white * (0.8 + 0.2 * np.clip(1 + ey_ / 0.03, 0, 1))[None])
        # iris and pupil, clipped to the eye
        ix = ex_ - gaze
        iy = ey_ + 0.002
        rr = np.sqrt(ix * ix + iy * iy)
        ia = _cov(rr - 0.034, aa) * ea
        q = rr * (1.0 / 0.034)
        icol = iris * (0.65 + 0.55 * np.clip(q, 0, 1) - 0.5 * np.clip((q - 0.8) * 4, 0, 1))[None]
        _paint(sub, ia, icol)
        _paint(sub, _cov(rr - 0.013, aa) * ea, black)
        hl = _cov(_circle(ix - hl_dx, iy + 0.012, 0.0065), aa) * ea
        _paint(sub, hl * 0.9, white + 0.08)
        # upper lid line (lashes) and a soft crease above
        lid = _lens(ex_, ey_, w * 1.06, top - 0.007, -top + 0.007, top + 0.004, -top - 0.004)
        _paint(sub, _cov(lid, aa), black * 2 + 0.2 * hair)
        crease = _lens(ex_, ey_, w * 0.95, top - 0.032, -top + 0.020, top - 0.018, -top + 0.010)
        _shade(sub, _soft(crease, 0.02), 0.85)
        # brow: thicker towards the nose, arching over the eye
        bxs = (x - side * 0.18) * side  # + towards the outside
        by = y - (ey - 0.125 - 0.015 * sm)
        bw = 0.095
        curve = -0.022 * (1 + arch)
        bt = 0.010 * thick
        taper = 1.0 - 0.35 * np.clip(bxs / bw + 1, 0, 2) * 0.5
        brow = _lens(bxs, by, bw, curve - bt * 1.2, -curve + bt * 1.2, curve + bt, -curve - bt)
        _paint(sub, _cov(brow, aa) * taper, hair * 0.75 + 0.05)
        if any_gl:
            gy = ly_ - 0.01
            d_r = _circle(lx_, gy, 0.092)
            qx = np.abs(lx_) - 0.085
            qy = np.abs(gy) - 0.055
            d_q = np.sqrt(np.maximum(qx + 0.03, 0) ** 2 + np.maximum(qy + 0.03, 0) ** 2)
            d_q += np.minimum(np.maximum(qx, qy), -0.03)
            d = rnd * d_r + rect * d_q + (1 - has_gl)
            _paint(sub, _cov(d, aa) * has_gl * 0.12, white)
            ring = np.abs(d) - 0.008
            _paint(sub, _cov(ring, aa) * has_gl, frame)
            # temple arm towards the ear, and half the bridge
            arm = np.maximum(np.abs(gy + 0.01) - 0.007, np.maximum(0.09 - lx_ * side, x * side - rx * 1.02))
            bridge = np.maximum(np.abs(gy + 0.005) - 0.007, np.maximum(x * side - 0.1, -x * side))
            _paint(sub, _cov(np.minimum(arm, bridge), aa) * has_gl, frame)
        W.commit()

    # ---------- nose
    W = fr.window(canvas, 0.0, 0.11, 0.10, 0.14, R)
    sub = W.sub
    x, y = fr.local(W.X, W.Y)
    nw = _b(f["nose_w"])
    lsgn = _b(np.where(f["light"] > 0.5, -1.0, 1.0).astype(_F))  # shadow side
    # shadow along the bridge on the side away from the light
    ridge = np.maximum(np.abs(x - lsgn * 0.03) - 0.022, np.abs(y - 0.09) - 0.12)
    _shade(sub, _soft(ridge, 0.04), 0.88)
    # nose tip: soft highlight and nostrils
    tip = _ellipse(x, y - 0.18, 0.05 * nw, 0.035)
    _shade(sub, _soft(tip + 0.01, 0.03), 1.07)
    under = _ellipse(x, y - 0.215, 0.055 * nw, 0.016)
    _shade(sub, _soft(under, 0.02), 0.72)
    for side in (-1.0, 1.0):
        ns = _ellipse(x - side * 0.028 * nw, y - 0.208, 0.014, 0.008)
        _shade(sub, _cov(ns, fr.aa), 0.45)
    W.commit()

    # ---------- mouth
    W = fr.window(canvas, 0.0, 0.32, 0.17, 0.10, R)
    sub = W.sub
    x, y = fr.local(W.X, W.Y)
    y = y - 0.32
    aa = fr.aa
    mw = 0.10 + 0.035 * sm
    lip = _b(f["lip"])
    bend = 0.034 * sm - 0.008  # corners rise by `bend` when smiling, droop a little when not
    g = np.clip(sm - 0.5, 0, 1) * 0.07  # half-opening of the mouth at its centre
    tu, tl = 0.013 * lip, 0.020 * lip
    # curves are c(u) + k (1 - u^2) with the centre line c(u) = -bend u^2
    upper = _lens(x, y, mw, -tu - g, tu + g - bend, -g, g - bend)
    lower = _lens(x, y, mw, g, -g - bend, g + tl, -g - tl - bend)
    lipcol = skin * _col(np.stack([0.80 + 0.12 * f["lip_red"], 0.50 - 0.06 * f["lip_red"], np.full(B, 0.50, _F)], 1))
    shade_l = 0.85 + 0.25 * np.clip((y + bend * (x / mw) ** 2 - g) / (tl + 1e-3), 0, 1)
    _paint(W.sub, _cov(np.minimum(upper, lower), aa), lipcol * shade_l[None])
    inner = _lens(x, y, mw * 0.97, -g, g - bend, g, -g - bend)
    _paint(W.sub, _cov(inner, aa), _col(np.full((B, 3), (0.30, 0.10, 0.10), _F)))
    teeth = np.maximum(inner, y - (-g + 1.1 * g * (1 - (x / mw) ** 2) - bend * (x / mw) ** 2))
    _paint(W.sub, _cov(teeth, aa), _col(np.full((B, 3), (0.94, 0.91, 0.86), _F)))
    # the dark line where the lips meet
    ml = _lens(x, y, mw * 1.02, -0.0035, 0.0035 - bend, 0.0035, -0.0035 - bend)
    _paint(W.sub, _cov(ml, aa) * _b((g[:, 0, 0] < 0.002).astype(_F)) * 0.8, lipcol * 0.4)
    # dimples / smile lines at the corners
    for side in (-1.0, 1.0):
        dl = _ellipse(x - side * (mw + 0.012), y + bend, 0.006, 0.022)
        _shade(W.sub, _soft(dl, 0.02) * sm, 0.85)
    W.commit()


# --------------------------------------------------------------------------------------
# eyes
# --------------------------------------------------------------------------------------

_EYE_IRIS = np.array(
    [
        # outer colour, inner (around the pupil) colour
        [(0.40, 0.22, 0.10), (0.25, 0.12, 0.05)],  # brown
        [(0.42, 0.45, 0.22), (0.55, 0.33, 0.12)],  # hazel
        [(0.30, 0.55, 0.32), (0.45, 0.50, 0.20)],  # green
        [(0.30, 0.52, 0.82), (0.45, 0.62, 0.80)],  # blue
        [(0.52, 0.58, 0.62), (0.62, 0.64, 0.62)],  # grey
    ],
    _F,
)
_BROW_RGB = np.array(
    [(0.07, 0.06, 0.05), (0.25, 0.15, 0.08), (0.62, 0.48, 0.28), (0.50, 0.20, 0.08), (0.50, 0.49, 0.48)], _F
)
_SHADOW_RGB = np.array([(0.55, 0.35, 0.55), (0.50, 0.32, 0.22), (0.70, 0.50, 0.30), (0.35, 0.40, 0.55)], _F)
# eye_shape -> (upper height, lower height, upper skew, corner tilt, crease gap)
_EYE_SHAPES = np.array(
    [
        (0.34, 0.17, -0.20, 0.02, 0.15),  # almond
        (0.41, 0.23, -0.05, 0.00, 0.17),  # round
        (0.31, 0.16, -0.15, 0.00, 0.04),  # hooded
        (0.32, 0.15, -0.25, 0.12, 0.14),  # upturned
    ],
    _F,
)


def _params_eyes(rng, m):
    f = {
        "iris_color": rng.integers(0, 5, m),
        "eye_shape": rng.integers(0, 4, m),
        "makeup": rng.choice(3, m, p=[0.5, 0.25, 0.25]),
        "brow_color": rng.choice(5, m, p=[0.3, 0.3, 0.15, 0.1, 0.15]),
        "skin_tone": rng.random(m, dtype=_F),
        "openness": rng.random(m, dtype=_F),
        "pupil_size": rng.random(m, dtype=_F),
        "gaze_x": rng.random(m, dtype=_F),
        "light": rng.random(m, dtype=_F),
    }
    iris = _EYE_IRIS[f["iris_color"]]
    p = {
        "skin_rgb": _jitter(rng, _lerp_palette(_SKIN_KEYS, f["skin_tone"]), 0.04),
        "iris_out": _jitter(rng, iris[:, 0], 0.12),
        "iris_in": _jitter(rng, iris[:, 1], 0.12),
        "brow_rgb": _jitter(rng, _BROW_RGB[f["brow_color"]], 0.12),
        "shadow_rgb": _jitter(rng, _SHADOW_RGB[rng.integers(0, 4, m)], 0.1),
        "mirror": np.where(rng.random(m) < 0.5, -1.0, 1.0).astype(_F),
        "cx": rng.uniform(-0.07, 0.07, m).astype(_F),
        "cy": rng.uniform(-0.04, 0.08, m).astype(_F),
        "scale": rng.uniform(1.0, 1.16, m).astype(_F),
        "rot": rng.uniform(-0.08, 0.08, m).astype(_F),
        "gaze_y": rng.uniform(-0.04, 0.04, m).astype(_F),
        "lash": rng.uniform(0.7, 1.3, m).astype(_F),
        "phase": rng.uniform(0, 6.283, (m, 4)).astype(_F),
        "brow_y": rng.uniform(-0.05, 0.05, m).astype(_F),
    }
    return f, p


def _render_eyes(P, B, R):
    px = 2.0 / R
    g = (np.arange(R, dtype=_F) + 0.5) * _F(px) - 1.0
    X, Y = g[None, None, :], g[None, :, None]
    f = P
    fr = _Frame(f["cx"], f["cy"], f["scale"], f["rot"], px)
    aa = fr.aa
    mir = _b(f["mirror"])  # +1: inner corner (nose side) on the left
    x, y = fr.local(X, Y)
    x *= mir
    shape = _EYE_SHAPES[f["eye_shape"]]
    op = _b(0.25 + 0.85 * f["openness"])
    Hu = _b(shape[:, 0]) * op
    Hl = _b(shape[:, 1]) * (0.7 + 0.3 * op)
    sk = _b(shape[:, 2])
    tilt = _b(shape[:, 3])
    crease_gap = _b(shape[:, 4])
    W = 0.76
    skin = _col(f["skin_rgb"])
    lx = _b((f["light"] - 0.5) * 1.6) * mir
    ph = f["phase"]

    canvas = np.empty((3, B, R, R), _F)
    # skin: lit from one side, soft mottling, a brow-bone highlight and an under-eye hollow.
    # Smooth terms are separable products of per-row and per-column profiles (cheap).
    sc = _b(1.0 / np.asarray(f["scale"], _F))
    xs = (X - _b(f["cx"])) * sc * mir  # [B, 1, R]
    ys = (Y - _b(f["cy"])) * sc  # [B, R, 1]

    def bump(v, c, w):
        return np.exp(-(((v - c) / w) ** 2))

    t = (0.80 + 0.16 * xs * lx) - 0.10 * ys
    t += (0.025 * np.sin(xs * 7.0 + _b(ph[:, 0]))) * np.sin(ys * 6.0 + _b(ph[:, 1]))
    t -= (0.07 * bump(xs, -0.05, 0.9)) * bump(ys, 0.45, 0.2)
    t += (0.08 * bump(xs, 0.05, 0.85)) * bump(ys, -0.55, 0.16)
    canvas[:] = skin * t[None]
    canvas[0] += (0.035 * bump(xs, 0.0, 0.9)) * bump(ys, 0.0, 0.45)  # a little redder around the eye

    u = np.clip(x / W, -1.0, 1.0)
    u2 = 1.0 - u * u
    yu = -Hu * u2 * (1.0 + sk * u) - tilt * u  # upper lid (y grows downwards)
    yl = Hl * u2 * (1.0 + 0.25 * u) - tilt * u
    su = (-Hu * (-2.0 * u * (1.0 + sk * u) + u2 * sk) - tilt) / W
    sl = (Hl * (-2.0 * u * (1.0 + 0.25 * u) + u2 * 0.25) - tilt) / W
    nu = 1.0 / np.sqrt(1.0 + su * su)
    nl = 1.0 / np.sqrt(1.0 + sl * sl)
    du = (yu - y) * nu  # < 0 below the upper lid
    dl = (y - yl) * nl  # < 0 above the lower lid
    eye = np.maximum(np.maximum(du, dl), np.abs(x) - W)

    # brow fragment at the top: a tapering band of hair strokes slanting outwards
    by0 = -0.74 + _b(f["brow_y"]) + 0.10 * x * x - 0.04 * x
    bth = 0.13 - 0.05 * np.clip(x, -1, 1)  # thicker towards the nose
    bd = np.abs(y - by0) - bth
    ba = _soft(bd, 0.07)
    sx = x * 2.0 - (y - by0) * (1.2 + 0.8 * x)
    strokes = np.sin(sx * 31.0 + 2.0 * np.sin(y * 17.0 + x * 5.0)) * np.sin(sx * 47.0 + 1.3)
    samp = 0.28 * np.clip((2.0 * np.pi / 47.0 / aa - 2.0) / 3.0, 0, 1)  # fewer strokes when sub-pixel
    _paint(canvas, ba * (0.72 + samp * strokes), _col(f["brow_rgb"]))

    # lid crease and eyeshadow
    yc = yu - crease_gap * (0.6 + 0.4 * u2) - 0.02
    cr = np.abs(y - yc) - 0.012
    mk = f["makeup"]
    shadow = _b((mk == 2).astype(_F))
    lidzone = np.maximum(yc - 0.04 - y, y - yu)
    _paint(canvas, _soft(lidzone, 0.12) * shadow * 0.55 * _soft(np.abs(x) - W, 0.3), _col(f["shadow_rgb"]))
    _shade(canvas, _soft(cr, 0.05) * _soft(np.abs(x) - W * 0.95, 0.15), 0.72)
    # soft shadow under the lower lid
    _shade(canvas, _soft(np.maximum(yl + 0.05 - y, y - yl - 0.14), 0.08) * _soft(np.abs(x) - W, 0.2), 0.9)

    # eyeball: sclera, shaded under the upper lid and towards the corners
    ea = _cov(eye, aa)
    sc = 0.97 - 0.30 * np.clip(1.0 - (-du) / 0.12, 0, 1) - 0.22 * u * u * u * u
    scl = _col(np.full((B, 3), (0.95, 0.92, 0.90), _F)) * sc[None]
    scl[1] -= 0.05 * u * u  # pinker towards the corners
    scl[2] -= 0.04 * u * u
    _paint(canvas, ea, scl)
    # a few faint veins near the corners
    vein = np.abs(y - 0.15 * Hu * np.sin(x * 9.0 + _b(ph[:, 2])) - 0.02) - 0.004
    vein = np.minimum(vein, np.abs(y + 0.03 * np.sin(x * 13.0 + _b(ph[:, 3]))) - 0.003)
    va = _cov(vein, aa) * ea * np.clip(np.abs(u) * 2.0 - 0.9, 0, 1) * 0.45
    _paint(canvas, va, _col(np.full((B, 3), (0.80, 0.35, 0.35), _F)))
    # caruncle (pink) at the inner corner
    car = _ellipse(x + W * 0.93, y + tilt * 0.95, 0.07, 0.055)
    _paint(canvas, _soft(car, 0.04) * ea * 0.6, skin * _col(np.full((B, 3), (1.05, 0.70, 0.68), _F)))

    # iris and pupil, in a window around the iris
    gx = _b((f["gaze_x"] - 0.5) * 0.30)
    gy = _b(f["gaze_y"])
    ri = 0.31
    cxs = np.asarray(f["cx"]) + (((f["gaze_x"] - 0.5) * 0.30) * f["mirror"]) * f["scale"]
    Wi = _Window(canvas, cxs, np.asarray(f["cy"]) + f["gaze_y"] * f["scale"], 0.36, 0.36, R)
    wx, wy = fr.local(Wi.X, Wi.Y)
    wx *= mir
    ix, iy = wx - gx, wy - gy
    r = np.sqrt(ix * ix + iy * iy)
    # eye-opening coverage recomputed in the window
    wu = np.clip(wx / W, -1.0, 1.0)
    wu2 = 1.0 - wu * wu
    wyu = -Hu * wu2 * (1.0 + sk * wu) - tilt * wu
    wyl = Hl * wu2 * (1.0 + 0.25 * wu) - tilt * wu
    wea = _cov(np.maximum(wyu - wy, wy - wyl), aa)
    q = r * (1.0 / ri)
    ang = np.arctan2(iy, ix)
    fib = np.sin(ang * 37.0 + 2.0 * np.sin(ang * 7.0 + q * 6.0)) * np.sin(ang * 23.0 - q * 4.0)
    rp = _b(0.22 + 0.20 * f["pupil_size"])  # pupil radius relative to the iris
    mixin = np.clip((q - rp) / 0.35, 0, 1)
    io, ii = _col(f["iris_out"]), _col(f["iris_in"])
    icol = ii + (io - ii) * mixin[None]
    bright = 0.85 + 0.22 * fib - 0.55 * np.clip((q - 0.82) / 0.18, 0, 1) + 0.2 * np.clip(1 - np.abs(q - rp - 0.2) / 0.15, 0, 1)
    _paint(Wi.sub, _cov(r - ri, aa) * wea, icol * bright[None])
    _paint(Wi.sub, _cov(q - rp, aa / ri) * wea, _col(np.full((B, 3), 0.03, _F)))
    # shadow of the upper lid and lashes on the eyeball
    _shade(Wi.sub, _soft(wy - wyu - 0.05, 0.1) * wea, 0.6)
    # specular highlight: a soft window reflection up and towards the light
    hx_ = ix - _b((f["light"] - 0.5) * 0.2) * mir - 0.0
    hl = _ellipse(hx_ + 0.06, iy + 0.09, 0.05, 0.04)
    _paint(Wi.sub, _soft(hl, 0.02) * wea * 0.95, _col(np.ones((B, 3), _F)))
    hl2 = _circle(hx_ - 0.08, iy - 0.07, 0.018)
    _paint(Wi.sub, _soft(hl2, 0.015) * wea * 0.6, _col(np.ones((B, 3), _F)))
    Wi.commit()

    # lid margins: pink waterline below, dark lash line above
    wl = np.maximum(np.abs(y - yl + 0.012) - 0.012, np.abs(x) - W * 0.92)
    _paint(canvas, _cov(wl, aa) * 0.6, skin * _col(np.full((B, 3), (1.0, 0.66, 0.64), _F)))
    liner = _b((mk == 1).astype(_F))
    lw = 0.012 + 0.012 * liner
    ll = np.maximum(np.abs(y - yu + lw * 0.5) - lw, np.abs(x) - W)
    # winged liner at the outer corner
    wing = np.maximum(np.abs(y - (-tilt - (x - W) * 0.55)) - 0.02 * (1.0 - (x - W) / 0.16), np.maximum(W - 0.1 - x, x - W - 0.16))
    ll = np.minimum(ll, wing + (1.0 - liner))
    dark = _col(np.full((B, 3), 0.05, _F))
    _paint(canvas, _cov(ll, aa), dark)

    # upper lashes: tapering curved strokes fanning out from the lid line, uneven lengths
    n_l = 17.0
    h = yu - y  # height above the lid line
    lean = 0.6 * u + 0.35
    hc = np.clip(h, 0, None)
    k = (u - (lean * 1.2 + 4.0 * hc * (u + 0.3)) * hc * (1.0 / W)) * n_l  # lean and curl outwards
    kf = np.floor(k)
    jit = np.sin(kf * 12.9898 + _b(ph[:, 0])) * 0.5 + 0.5  # per-lash length variation
    L = 0.19 * _b(f["lash"]) * (0.35 + 0.65 * np.sqrt(np.clip(u2, 0, 1))) * (1 + 0.3 * u) * (0.75 + 0.35 * jit)
    hn = np.clip(h / L, 0, 1)
    d = np.abs(k - kf - 0.5) * (W / n_l)  # distance to the nearest lash centre
    thick = 0.016 * (1.0 - 0.85 * hn)
    # when lashes get closer than ~3.5 px, fade to their mean coverage instead of aliasing
    fade = np.clip((3.5 - (W / n_l) / aa) / 2.0, 0, 1)
    la = _cov(d - thick * 0.5, aa) * (1.0 - fade) + fade * np.clip(thick * (n_l / W) * 1.3, 0, 1)
    la *= (h > -0.01) * _cov(hn - 0.97, 0.03) * (np.abs(x) < W * 1.02)
    _paint(canvas, la, dark)
    # lower lashes: shorter and sparser
    L2 = 0.07 * _b(f["lash"]) * np.clip(u2, 0, 1) * (0.3 + 0.7 * np.clip(u + 0.6, 0, 1))
    h2 = y - yl
    hn2 = np.clip(h2 / (L2 + 1e-4), 0, 1)
    k2 = (u + 0.5 * u * h2) * 13.0
    d2 = np.abs(k2 - np.floor(k2) - 0.5) * (W / 13.0)
    fade2 = np.clip((3.5 - (W / 13.0) / aa) / 2.0, 0, 1)
    la2 = _cov(d2 - 0.005 * (1.0 - 0.7 * hn2), aa) * (1.0 - fade2) + fade2 * 0.13
    la2 *= (h2 > 0.004) * (hn2 < 1)
    _paint(canvas, la2 * 0.55, dark)
    return canvas


# --------------------------------------------------------------------------------------
# anime
# --------------------------------------------------------------------------------------

_ANIME_HAIR = np.array(
    [
        (1.00, 0.56, 0.74),  # pink
        (0.32, 0.55, 0.95),  # blue
        (0.60, 0.42, 0.86),  # purple
        (1.00, 0.58, 0.24),  # orange
        (0.36, 0.78, 0.52),  # green
        (1.00, 0.87, 0.46),  # blonde
        (0.16, 0.14, 0.20),  # black
        (0.94, 0.94, 0.98),  # white
    ],
    _F,
)
_ANIME_EYE = np.array(
    [
        (0.88, 0.16, 0.22),  # red
        (0.20, 0.46, 0.96),  # blue
        (0.18, 0.70, 0.38),  # green
        (0.62, 0.30, 0.88),  # purple
        (0.96, 0.70, 0.14),  # gold
        (0.58, 0.33, 0.16),  # brown
    ],
    _F,
)


def _hsv(h, s, v):
    """Vectorised HSV -> RGB for arrays of hue/saturation/value in [0, 1]; returns (B, 3)."""
    h = np.asarray(h, _F)[:, None]
    k = (np.array([5.0, 3.0, 1.0], _F) + h * 6.0) % 6.0
    return (v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0, 1)).astype(_F)


def _params_anime(rng, m):
    f = {
        "hair_color": rng.integers(0, 8, m),
        "eye_color": rng.integers(0, 6, m),
        "hair_style": rng.integers(0, 4, m),
        "bangs": rng.integers(0, 3, m),
        "mouth": rng.integers(0, 3, m),
        "blush": rng.choice(2, m, p=[0.6, 0.4]),
        "skin_tone": rng.random(m, dtype=_F),
        "background_hue": rng.random(m, dtype=_F),
        "eye_size": rng.random(m, dtype=_F),
        "pose_x": rng.random(m, dtype=_F),
        "tilt": rng.random(m, dtype=_F),
    }
    skin = _lerp_palette([(1.0, 0.94, 0.89), (1.0, 0.89, 0.80), (0.97, 0.80, 0.66)], f["skin_tone"])
    p = {
        "skin_rgb": skin.astype(_F),
        "hair_rgb": _jitter(rng, _ANIME_HAIR[f["hair_color"]], 0.07),
        "eye_rgb": _jitter(rng, _ANIME_EYE[f["eye_color"]], 0.08),
        "bg_rgb": _hsv(f["background_hue"], rng.uniform(0.12, 0.32, m).astype(_F), rng.uniform(0.9, 1.0, m).astype(_F)),
        "shirt_rgb": _hsv(rng.random(m).astype(_F), rng.uniform(0.2, 0.7, m).astype(_F), rng.uniform(0.3, 0.95, m).astype(_F)),
        "scale": rng.uniform(1.12, 1.28, m).astype(_F),
        "cy": rng.uniform(-0.03, 0.03, m).astype(_F),
        "spike_phase": rng.uniform(0, 1, m).astype(_F),
        "part": rng.uniform(-0.12, 0.12, m).astype(_F),
        "light": np.where(rng.random(m) < 0.5, -1.0, 1.0).astype(_F),
    }
    return f, p


def _tri_spikes(x, period, phase, amp):
    """Downward hair spikes: amp * (1 - tri)^1.5 with its slope (for the distance estimate)."""
    t = x / period + phase
    fr = t - np.floor(t)
    tri = np.abs(fr - 0.5) * 2.0  # 1 at the gaps, 0 at the tips
    one = 1.0 - tri
    sq = np.sqrt(one)
    val = amp * one * sq
    slope = amp * 1.5 * sq * (2.0 / period) * np.sign(fr - 0.5)
    return val, slope


def _render_anime(P, B, R):
    px = 2.0 / R
    g = (np.arange(R, dtype=_F) + 0.5) * _F(px) - 1.0
    X, Y = g[None, None, :], g[None, :, None]
    f = P
    s = f["scale"]
    th = (f["tilt"] - 0.5) * 0.26
    cx = (f["pose_x"] - 0.5) * 0.16
    fr = _Frame(cx, -0.02 + f["cy"], s, th, px)
    aa = fr.aa
    x, y = fr.local(X, Y)
    style = f["hair_style"]
    short, long_ = _b((style == 0).astype(_F)), _b((style == 1).astype(_F))
    twin, bob = _b((style == 2).astype(_F)), _b((style == 3).astype(_F))
    hair = _col(f["hair_rgb"])
    hair_dk = hair * _col(np.full((B, 3), (0.80, 0.72, 0.82), _F))
    skin = _col(f["skin_rgb"])
    skin_dk = skin * _col(np.full((B, 3), (0.93, 0.80, 0.80), _F))
    line = _col(np.full((B, 3), (0.25, 0.15, 0.18), _F))

    canvas = np.empty((3, B, R, R), _F)
    bg = _col(f["bg_rgb"])
    canvas[:] = bg * (1.04 - 0.10 * (Y + 1.0) * 0.5 + 0.0 * X)[None]

    # hair behind the head
    back = _ellipse(x, y - 0.05 - 0.45 * long_ - 0.12 * bob, 0.62 + 0.06 * long_ + 0.06 * bob, 0.62 + 0.45 * long_ + 0.12 * bob)
    back = np.maximum(back, -np.maximum(-back, y - 0.98))
    tails = np.minimum(_ellipse(x - 0.72, y - 0.42, 0.22, 0.58), _ellipse(x + 0.72, y - 0.42, 0.22, 0.58))
    back = np.minimum(back, tails + (1.0 - twin) * 10.0)
    ba = _cov(back, aa)
    bsh = np.clip(0.55 - 0.35 * y + 0.12 * np.sin(x * 23.0 + 2.0 * y), 0, 1)  # strands, lighter at the top
    _paint(canvas, ba, hair_dk * 0.92 + (hair - hair_dk) * bsh[None] * 0.6)
    # hair ties on twin tails
    if twin.any():
        for side in (-1.0, 1.0):
            W = fr.window(canvas, side * 0.56, -0.10, 0.08, 0.07, R)
            wx, wy = fr.local(W.X, W.Y)
            tie = _ellipse(wx - side * 0.56, wy + 0.10, 0.06, 0.05)
            _paint(W.sub, _cov(tie, aa) * twin, _col(np.full((B, 3), (0.95, 0.25, 0.35), _F)))
            W.commit()

    # shoulders and neck (with a sailor-style collar)
    sh = _ellipse(x, y - 1.02, 0.78, 0.38)
    shirt = _col(f["shirt_rgb"])
    _paint(canvas, _cov(sh, aa), shirt)
    neck = np.maximum(np.abs(x) - 0.115, np.maximum(0.3 - y, y - 0.9))
    _paint(canvas, _cov(neck, aa), skin_dk)
    collar = np.maximum(sh + 0.02, 0.66 + 0.9 * np.abs(x) - y)
    _paint(canvas, _cov(collar, aa), _col(np.full((B, 3), 0.97, _F)))
    vee = np.maximum(sh, np.maximum(0.66 + 1.6 * np.abs(x) - y, y - 1.2))
    _paint(canvas, _cov(vee, aa), skin_dk)

    # face: round cheeks tapering to a small pointed chin, with a thin outline
    yy = np.clip(y / 0.52, 0, 1)
    xw = x / (1.0 - 0.62 * yy * yy * np.sqrt(yy))
    face = _ellipse(xw, y + 0.02, 0.48, 0.54)
    fa = _cov(face, aa)
    _paint(canvas, _cov(face - 0.012, aa), line * 0.5 + skin * 0.5)
    _paint(canvas, fa, skin)

    # bangs and cap
    ph = _b(f["spike_phase"])
    bangs = f["bangs"]
    straight, spiky, parted = (_b((bangs == i).astype(_F)) for i in range(3))
    ax = x - _b(f["part"]) * parted
    sp_amp = 0.05 * straight + 0.13 * spiky + 0.10 * parted
    sp_per = 0.10 * straight + 0.17 * spiky + 0.15 * parted
    val, slope = _tri_spikes(x, sp_per, ph, sp_amp)
    base = -0.12 + 0.35 * x * x + parted * (0.05 - 0.32 + 0.9 * np.minimum(np.abs(ax), 0.35) - 0.05)
    bslope = 0.7 * x + parted * 0.9 * np.sign(ax) * (np.abs(ax) < 0.35)
    hl = base + val
    edge = (y - hl) / np.sqrt(1.0 + (slope + bslope) ** 2)
    cap = _ellipse(x, y + 0.08, 0.56, 0.60)
    front = np.maximum(cap, edge)
    # side locks framing the face
    ys = np.clip((y + 0.1) / (0.72 + 0.1), 0, 1)
    lock_w = 0.09 * (1.0 - ys) + 0.005
    lock_x = 0.43 - 0.06 * ys
    lk = np.maximum(np.abs(np.abs(x) - lock_x) - lock_w, np.maximum(-0.1 - y, y - 0.55 - 0.2 * long_))
    lk = lk + short * 10.0
    front = np.minimum(front, lk)
    # cel shadow the bangs cast on the forehead
    _paint(canvas, _cov(front - 0.05, aa) * fa, skin_dk)
    fa2 = _cov(front, aa)
    # hair shading: light top, darker towards the tips, an "angel ring" highlight
    ny = (y + 0.1) / 0.6
    t = np.clip(0.75 - 0.4 * ny, 0.0, 1.0)
    ring = np.abs(np.sqrt((x / 0.56) ** 2 + ((y + 0.08) / 0.6) ** 2) - 0.78) - 0.045 * (1.0 + np.sin(x * 40.0) * 0.5)
    hcol = hair_dk + (hair - hair_dk) * (0.35 + t)[None]
    hi = _cov(ring, aa) * (y < -0.2)
    hcol += (1.0 - hcol) * (0.55 * hi)[None]
    _paint(canvas, _cov(front - 0.012, aa), line * 0.4 + hair_dk * 0.6)
    _paint(canvas, fa2, hcol)

    _anime_features(canvas, fr, f, B, R)
    return canvas


def _anime_features(canvas, fr, f, B, R):
    aa = fr.aa
    eye = _col(f["eye_rgb"])
    es = _b(0.88 + 0.24 * f["eye_size"])
    black = _col(np.full((B, 3), (0.12, 0.07, 0.10), _F))
    white = _col(np.ones((B, 3), _F))
    light = _b(f["light"])
    for side in (-1.0, 1.0):
        ecx, ecy = side * 0.21, 0.13
        W = fr.window(canvas, ecx, ecy - 0.02, 0.19, 0.22, R, smax=1.3 * 1.12)
        sub = W.sub
        x, y = fr.local(W.X, W.Y)
        ex, ey = (x - ecx) * side / es, (y - ecy) / es  # + towards the outside
        eaa = aa / es
        # eye white and iris, clipped below the upper lash line
        top = -0.12 + 0.06 * ex * ex / 0.01 * 0.1 - 0.02 * ex
        ew = np.maximum(_ellipse(ex, ey, 0.12, 0.15), top - ey)
        ea = _cov(ew, eaa)
        _paint(sub, ea, white * 0.98)
        ir = _ellipse(ex + 0.005, ey + 0.005, 0.088, 0.128)
        ia = _cov(ir, eaa) * ea
        grad = np.clip((ey + 0.12) / 0.24, 0, 1)
        icol = eye * (0.45 + 0.75 * grad)[None]
        _paint(sub, ia, icol)
        _paint(sub, _cov(ir + 0.02, eaa) * ea * 0.35, white * 0.0 + eye * 1.2)
        pu = _ellipse(ex + 0.005, ey + 0.0, 0.042, 0.07)
        _paint(sub, _cov(pu, eaa) * ea, black + eye * 0.25)
        # iris rim
        _paint(sub, _cov(np.abs(ir) - 0.006, eaa) * ea, black + eye * 0.2)
        # highlights
        h1 = _ellipse(ex - 0.035 * light * side, ey + 0.05, 0.032, 0.042)
        _paint(sub, _cov(h1, eaa) * ea, white)
        h2 = _circle(ex + 0.035 * light * side, ey - 0.06, 0.016)
        _paint(sub, _cov(h2, eaa) * ea, white)
        # thick upper lash line with a flick at the outer corner
        ul = _lens(ex - 0.01, ey, 0.15, -0.145, 0.05, -0.105, 0.01)
        flick = _lens(ex - 0.13, ey + 0.05, 0.04, -0.1 - 0.0, 0.0, -0.07, -0.03)
        _paint(sub, _cov(np.minimum(ul, flick), eaa), black)
        # lower lash: short thin stroke at the outer bottom
        ll = _lens(ex - 0.03, ey, 0.08, 0.138, 0.0, 0.148, -0.01)
        _paint(sub, _cov(ll, eaa) * 0.8, black)
        # brow: thin arc above
        br = _lens(ex, ey, 0.11, -0.265, 0.05, -0.25, 0.045)
        _paint(sub, _cov(br, eaa) * 0.85, _col(f["hair_rgb"]) * 0.55)
        W.commit()

    # nose, mouth and blush
    W = fr.window(canvas, 0.0, 0.36, 0.42, 0.16, R, smax=1.3)
    sub = W.sub
    x, y = fr.local(W.X, W.Y)
    skin = _col(f["skin_rgb"])
    nose = _ellipse(x - 0.006, y - 0.30, 0.012, 0.008)
    _paint(sub, _cov(nose, aa) * 0.6, skin * 0.6)
    mouth = f["mouth"]
    smile, openm, neutral = (_b((mouth == i).astype(_F)) for i in range(3))
    my = y - 0.43
    sm_l = _lens(x, my, 0.055, 0.0, -0.025, 0.009, -0.034)
    op_l = _lens(x, my, 0.05, -0.005, -0.0, 0.055, -0.06)
    nt_l = _lens(x, my, 0.035, -0.0045, 0.0, 0.0045, 0.0)
    md = smile * sm_l + openm * op_l + neutral * nt_l
    mc = _col(np.full((B, 3), (0.55, 0.18, 0.20), _F))
    _paint(sub, _cov(md, aa), mc)
    tongue = np.maximum(op_l, 0.035 - my)
    _paint(sub, _cov(tongue, aa) * openm, _col(np.full((B, 3), (0.95, 0.50, 0.52), _F)))
    bl = _b((f["blush"] == 1).astype(_F))
    for side in (-1.0, 1.0):
        e = _ellipse(x - side * 0.25, y - 0.31, 0.085, 0.035)
        _paint(sub, _soft(e, 0.04) * bl * 0.55, _col(np.full((B, 3), (1.0, 0.55, 0.60), _F)))
        for k in range(3):
            hx_ = x - side * 0.25 - (k - 1) * 0.035
            hatch = np.maximum(np.abs(hx_ + (y - 0.31) * 0.6) - 0.005, np.abs(y - 0.31) - 0.022)
            _paint(sub, _cov(hatch, aa) * bl * 0.6, _col(np.full((B, 3), (0.92, 0.40, 0.45), _F)))
    W.commit()


# --------------------------------------------------------------------------------------
# public API
# --------------------------------------------------------------------------------------

_PARAMS = {"faces": _params_faces, "eyes": _params_eyes, "anime": _params_anime}
_RENDER = {"faces": _render_faces, "eyes": _render_eyes, "anime": _render_anime}


def _check(kind, n, size):
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: expected one of {', '.join(KINDS)}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if size is None:
        size = DEFAULT_SIZE[kind]
    if isinstance(size, bool) or not isinstance(size, numbers.Integral) or not _MIN_SIZE <= size <= _MAX_SIZE:
        raise ValueError(f"size must be an int in [{_MIN_SIZE}, {_MAX_SIZE}], got {size!r}")
    return int(n), int(size)


def _draw_params(kind, n, seed):
    fs, ps = [], []
    for c in range((n + _CHUNK - 1) // _CHUNK):
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, _KIND_ID[kind], c])
        f, p = _PARAMS[kind](rng, _CHUNK)
        fs.append(f)
        ps.append(p)
    factors = {k: np.concatenate([f[k] for f in fs])[:n] for k in FACTORS[kind]}
    params = {k: np.concatenate([p[k] for p in ps])[:n] for k in ps[0]} if ps else {}
    return factors, params


def synthetic(kind, n, size=None, seed=0):
    """Render ``n`` images of ``kind`` ("faces", "eyes", "anime") at ``size`` px.

    Returns ``(images, factors)``: uint8 ``[n, size, size, 3]`` and a dict of factor
    name -> array of length n (int64 category codes indexing ``FACTORS[kind][name]``,
    or float32 in [0, 1]). Deterministic: image i depends only on (kind, size, seed, i).
    """
    n, size = _check(kind, n, size)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    images = np.empty((n, size, size, 3), np.uint8)
    factors = {}
    if n == 0:
        for k, cats in FACTORS[kind].items():
            factors[k] = np.zeros(0, np.int64 if cats else _F)
        return images, factors
    factors, params = _draw_params(kind, n, seed)
    for k, cats in FACTORS[kind].items():
        factors[k] = factors[k].astype(np.int64 if cats else _F)
    ss = 2 if size < 48 else 1
    R = size * ss
    per = max(1, min(_CHUNK, _JOB_PIXELS // (R * R)))
    starts = list(range(0, n, per))
    allp = dict(factors)
    allp.update(params)

    def job(a):
        b = min(n, a + per)
        P = {k: v[a:b] for k, v in allp.items()}
        canvas = _RENDER[kind](P, b - a, R)
        if ss > 1:
            canvas = canvas.reshape(3, b - a, size, ss, size, ss).mean(axis=(3, 5))
        canvas *= 255.0
        canvas += 0.5
        np.clip(canvas, 0, 255, out=canvas)
        images[a:b] = canvas.transpose(1, 2, 3, 0).astype(np.uint8)

    if len(starts) > 1:
        with ThreadPoolExecutor(2) as ex:
            list(ex.map(job, starts))
    else:
        job(0)
    return images, factors
