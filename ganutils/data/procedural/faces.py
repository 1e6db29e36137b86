"""Faces: a head and shoulders with hair, eyes, brows, nose, mouth and sometimes glasses, on a plain
background (the embedded data of chapters 3, 6 and 7; 64 px by default).

Factors: skin tone, face shape, hair style and colour, iris colour, glasses, background, smile, face width,
light direction, pose, tilt and scale. Registered as ``"faces"`` with random stream 1.
"""

import numpy as np

from ._draw import (
    _col, _b, _cov, _soft, _ellipse, _circle, _lens, _smin, _paint, _shade, _rot, _Frame, _lerp_palette,
    _jitter, _F, _pixel_grid, _SKIN_KEYS,
)
from ._registry import register

#: name -> category names (int64 codes index them), or None for a float32 factor in [0, 1]
FACTORS = {
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
}

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
    px, X, Y = _pixel_grid(R)
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
        ids = [FACTORS["hair_style"].index(nm) for nm in names]
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


register("faces", factors=FACTORS, default_size=64, stream=1, params=_params_faces, render=_render_faces)
