"""Small drawing toolkit shared by the kinds' renderers, and the palettes more than one kind uses.

Arrays are planar: canvas [3, B, H, W], masks [B, H, W], per-image parameters [B, 1, 1] so they
broadcast over pixels. Shapes are signed distance functions turned into anti-aliased coverage with
``clip(0.5 - sdf / pixel, 0, 1)``.
"""

import math

import numpy as np

_F = np.float32


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


def _pixel_grid(R):
    """Pixel centres of an R×R canvas in [-1, 1]: ``(px, X, Y)`` with the pixel size ``px`` and
    X ``[1, 1, R]``, Y ``[1, R, 1]`` float32, ready to broadcast against a batch."""
    px = 2.0 / R
    g = (np.arange(R, dtype=_F) + 0.5) * _F(px) - 1.0
    return px, g[None, None, :], g[None, :, None]


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




# Skin tones from very light to very dark (faces and eyes interpolate between these keys).
_SKIN_KEYS = [
    (0.99, 0.86, 0.76),
    (0.93, 0.74, 0.60),
    (0.80, 0.57, 0.41),
    (0.58, 0.38, 0.24),
    (0.34, 0.21, 0.13),
]
