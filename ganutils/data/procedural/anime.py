"""Anime faces: flat-shaded cartoon heads with big eyes, spiky or straight bangs and pastel backgrounds
(the embedded data of chapter 5; 64 px by default).

Factors: hair colour, eye colour, hair style, bangs, mouth, blush, skin tone, background hue, eye size,
pose and tilt. Registered as ``"anime"`` with random stream 3.
"""

import numpy as np

from ._draw import (
    _col, _b, _cov, _soft, _ellipse, _circle, _lens, _paint, _Frame, _lerp_palette, _jitter, _F, _pixel_grid,
)
from ._registry import register

#: name -> category names (int64 codes index them), or None for a float32 factor in [0, 1]
FACTORS = {
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
}

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
    px, X, Y = _pixel_grid(R)
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


register("anime", factors=FACTORS, default_size=64, stream=3, params=_params_anime, render=_render_anime)
