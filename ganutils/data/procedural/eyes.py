"""Eyes: one eye with its lid, lashes, brow and sometimes make-up, in close-up (the embedded data of
chapter 4; 128 px by default).

Factors: iris colour, eye shape, make-up, brow colour, skin tone, openness, pupil size, gaze and light.
Registered as ``"eyes"`` with random stream 2.
"""

import numpy as np

from ._draw import (
    _col, _b, _cov, _soft, _ellipse, _circle, _paint, _shade, _Window, _Frame, _lerp_palette, _jitter, _F,
    _pixel_grid,
    _SKIN_KEYS,
)
from ._registry import register

#: name -> category names (int64 codes index them), or None for a float32 factor in [0, 1]
FACTORS = {
    "iris_color": ["brown", "hazel", "green", "blue", "grey"],
    "eye_shape": ["almond", "round", "hooded", "upturned"],
    "makeup": ["none", "liner", "shadow"],
    "brow_color": ["black", "brown", "blond", "red", "grey"],
    "skin_tone": None,
    "openness": None,  # 0 = nearly closed ... 1 = wide open
    "pupil_size": None,
    "gaze_x": None,  # 0 = looking left ... 1 = looking right
    "light": None,
}

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
    px, X, Y = _pixel_grid(R)
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


register("eyes", factors=FACTORS, default_size=128, stream=2, params=_params_eyes, render=_render_eyes)
