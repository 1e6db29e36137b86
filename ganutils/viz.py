"""Pictures of training: image grids, loss and D(x)/D(G(z)) curves, GIFs of progress.

Every chapter uses these, so the pictures look the same throughout the book.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def _path(path):
    """A path the reader gave, with ``~`` meaning their home folder (as everywhere in ganutils)."""
    return Path(os.path.expanduser(os.fspath(path)))


def to_uint8(images, *, channels=(3,), warn_positive=False, where="images") -> np.ndarray:
    """Return ``images`` as a uint8 array ``[N, H, W, C]``: the one converter of ganutils (viz and metrics).

    Accepts uint8 (0..255, returned as is) or floats in [-1, 1] (a generator's tanh output; float16 and
    bfloat16 too), as numpy arrays or TensorFlow/Keras tensors; floats are mapped with
    ``round((x + 1) * 127.5)`` and clipped to 0..255. The range is checked by
    :func:`ganutils.data.check_range`, the rule of every entry point that takes images: floats may overshoot
    [-1, 1] by 0.05 (resampling), and are refused outside [-1.05, 1.05] with a ``ValueError`` naming the
    range seen and the conversion (0..255 floats: ``images / 127.5 - 1`` or uint8). ``channels``: the
    channel counts allowed (3 by default; the picture functions also take 1, grey). ``warn_positive=True``
    (for the reader's images, not a generator's samples) warns with ``ImageRangeWarning`` when a float
    batch has no negative value (probably [0, 1] data); ``where`` names the images in messages.
    Raises ``ValueError`` naming the problem for another shape, another dtype (int32 pixel values are
    ambiguous: pass uint8), NaN or inf, or floats out of range.
    """
    from .data.checks import check_range
    if hasattr(images, "numpy") and not isinstance(images, np.ndarray):
        images = images.numpy()  # tf / keras tensor
    a = np.asarray(images)
    if a.ndim != 4 or a.shape[-1] not in channels:
        want = " or ".join(str(c) for c in channels)
        raise ValueError(f"{where} must have shape [N, H, W, {want}], got shape {a.shape}")
    if a.dtype == np.uint8:
        return a
    if a.size:
        check_range(a, where=where, warn_positive=warn_positive)
    elif a.dtype.kind != "f" and a.dtype.name != "bfloat16":
        raise ValueError(f"{where} must be uint8 (0..255) or float in [-1, 1], got dtype {a.dtype}")
    return np.clip(np.rint((a.astype(np.float32) + 1.0) * 127.5), 0, 255).astype(np.uint8)


def grid(images, ncols=None, pad=1, pad_value=255, *, warn_positive=True):
    """Tile images into one uint8 picture ``[rows * (H + pad) + pad, ncols * (W + pad) + pad, C]``,
    ``ncols`` per row (square by default).

    ``images``: ``[N, H, W, 3 or 1]`` or one ``[H, W, C]``, uint8 (0..255) or floats in [-1, 1] (converted
    by :func:`to_uint8`: floats outside [-1.05, 1.05] raise ``ValueError``). A float batch with no negative
    value warns with ``ImageRangeWarning`` (probably [0, 1] data: pass ``images * 2 - 1``); pass
    ``warn_positive=False`` for a generator's samples, which may all be bright without being wrong.
    """
    if np.ndim(images) == 3:
        images = np.asarray(images)[None]
    x = to_uint8(images, channels=(1, 3), warn_positive=warn_positive, where="the images of the grid")
    n, h, w, c = x.shape
    if n == 0:
        raise ValueError("grid() needs at least one image")
    ncols = ncols or int(np.ceil(np.sqrt(n)))
    nrows = int(np.ceil(n / ncols))
    out = np.full((nrows * (h + pad) + pad, ncols * (w + pad) + pad, c), pad_value, np.uint8)
    for i in range(n):
        r, q = divmod(i, ncols)
        y0, x0 = pad + r * (h + pad), pad + q * (w + pad)
        out[y0:y0 + h, x0:x0 + w] = x[i]
    return out


def upscale(picture, min_width=512):
    """Nearest-neighbour upscale by an integer factor so small images read well on a page."""
    k = max(1, int(np.ceil(min_width / picture.shape[1])))
    return picture.repeat(k, axis=0).repeat(k, axis=1)


def sample_sheet(images, ncols=6, px=120, pad=4):
    """A result figure as one uint8 picture: ``images`` tiled ``ncols`` per row, each scaled up by an
    integer factor (nearest neighbour, so no pixel is invented or smoothed) until it is at least ``px``
    pixels wide, on a white background with ``pad`` pixels between samples.

    ``images``: ``[N, H, W, 3 or 1]``, uint8 (0..255) or floats in [-1, 1] (a generator's samples; checked
    by :func:`to_uint8`). Returns ``[rows * (H*k + pad) + pad, ncols * (W*k + pad) + pad, C]`` uint8 with
    ``k = ceil(px / W)``: at ``px=120`` a 28×28 sample becomes 140 px, a 64×64 one 128 px, a 128×128 one
    stays 128 px. Show it with :func:`show_png` (a PNG at its own size: the page does not resample it).
    Raises ``ValueError`` for no images, a bad shape or dtype, or ``ncols``/``px`` below 1.
    """
    if ncols < 1 or px < 1:
        raise ValueError(f"ncols and px must be at least 1, got ncols={ncols}, px={px}")
    x = to_uint8(images, channels=(1, 3), where="the samples of the sheet")
    if len(x) == 0:
        raise ValueError("sample_sheet() needs at least one image")
    k = max(1, int(np.ceil(px / x.shape[2])))
    x = x.repeat(k, axis=1).repeat(k, axis=2)
    return grid(x, min(ncols, len(x)), pad=pad, warn_positive=False)


def titled_rows(rows, ncols=6, px=96, title_px=22):
    """A result figure of labelled rows, top to bottom: each ``(title, images)`` of ``rows`` becomes a
    :func:`sample_sheet` (``ncols`` samples per row, each scaled up by nearest neighbour to at least
    ``px`` pixels) under its title, drawn at one figure pixel per sheet pixel (100 dpi) so the page
    does not shrink the samples. For comparing a few runs, one above another, where one grid per run
    (``show_grid`` in subplots) leaves faces of 30-70 px.

    ``rows``: a sequence of ``(str, images)``; ``images`` as :func:`sample_sheet` takes them
    (``[N, H, W, 3 or 1]``, uint8 or floats in [-1, 1]). ``title_px``: pixels kept above each sheet
    for its title. Returns a ``matplotlib.figure.Figure`` not registered with pyplot (show it with
    IPython's ``display``; nothing is left open). Raises ``ValueError`` for no rows, and what
    :func:`sample_sheet` raises for bad images."""
    from matplotlib.figure import Figure
    rows = list(rows)
    if not rows:
        raise ValueError("titled_rows() needs at least one (title, images) row")
    sheets = [sample_sheet(images, ncols=ncols, px=px) for _, images in rows]
    width = max(s.shape[1] for s in sheets)
    fig = Figure(figsize=(width / 100, sum(s.shape[0] + title_px for s in sheets) / 100), dpi=100)
    axes = fig.subplots(len(sheets), 1, squeeze=False, gridspec_kw={
        "height_ratios": [s.shape[0] + title_px for s in sheets], "hspace": 0})
    for ax, sheet, (title, _) in zip(axes[:, 0], sheets, rows):
        ax.imshow(sheet, interpolation="nearest")
        ax.set_title(title, fontsize=10, loc="left", pad=3)
        ax.set_axis_off()
    fig.subplots_adjust(left=0, right=1, top=1 - title_px / 100 / fig.get_figheight(), bottom=0)
    return fig


def show_png(picture):
    """Display a uint8 picture ``[H, W, 3]`` (or ``[H, W, 1]``, or ``[H, W]``) in a notebook as a PNG at
    its own size (lossless; the book keeps it PNG). Returns None, so that a cell ending with it shows the
    picture once. Raises ``ValueError`` for another dtype or shape."""
    import io
    from IPython.display import Image, display
    from PIL import Image as PILImage
    a = np.asarray(picture)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (1, 3)):
        raise ValueError(f"show_png takes a uint8 [H, W, 3] picture, got {a.dtype} {a.shape}")
    buffer = io.BytesIO()
    PILImage.fromarray(a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a).save(buffer, "PNG")
    display(Image(data=buffer.getvalue(), format="png"))


def save_grid(images, path, ncols=None, min_width=512, *, warn_positive=False):
    """Save a grid of images (as :func:`grid` takes them) as a PNG, upscaled to at least ``min_width``
    pixels; ``~`` in ``path`` is the home folder and missing folders are created. Returns the path.

    Unlike :func:`grid` it does not warn for floats with no negative value unless ``warn_positive=True``:
    it saves a run's samples (``GANTrainer.fit``'s progress grids), which a collapsed generator may draw
    all bright."""
    import imageio.v3 as iio
    path = _path(path)
    picture = upscale(grid(images, ncols, warn_positive=warn_positive), min_width)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, picture)
    return path


def show_grid(images, ncols=None, title=None, ax=None, scale=1.0, *, warn_positive=True):
    """Show a grid of images (as :func:`grid` takes them) with matplotlib (in a notebook, this displays
    it) on ``ax`` or a new figure; returns the axes."""
    import matplotlib.pyplot as plt
    picture = grid(images, ncols, warn_positive=warn_positive)
    if ax is None:
        h, w = picture.shape[:2]
        _, ax = plt.subplots(figsize=(scale * 6 * w / max(h, w), scale * 6 * h / max(h, w)))
    ax.imshow(picture, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    return ax


def fit_titles(fig, sep=(": ", ", "), min_scale=0.75):
    """Make every axes title of ``fig`` fit the width of its axes, so that titles side by side never
    run into each other.

    First all titles get one smaller font size, the largest that lets the widest title fit, but not
    below ``min_scale`` times the current size (one size for the whole figure, so the titles still look
    alike); a title that still does not fit is broken into lines after a separator in ``sep``
    (``"Monn, seed 0: SWD 50"`` becomes ``"Monn, seed 0:\nSWD 50"``). Measured in pixels with the Agg
    renderer on ``fig`` itself (a ``matplotlib.figure.Figure``); pyplot's state and the session's
    backend are not touched. Returns ``fig``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    fig.tight_layout()
    titled = [ax for ax in fig.axes if ax.title.get_text()]

    def room(ax):  # the axes' width, less a margin so that neighbours' titles do not touch
        return 0.92 * ax.get_window_extent(renderer).width

    def too_wide(ax):
        return ax.title.get_window_extent(renderer).width > room(ax)

    if not any(too_wide(ax) for ax in titled):
        return fig
    size = max(ax.title.get_fontsize() for ax in titled)
    smallest = size * min_scale
    while size > smallest and any(too_wide(ax) for ax in titled):
        size = max(smallest, size - 0.5)
        for ax in titled:
            ax.title.set_fontsize(size)
    for ax in titled:
        if not too_wide(ax):
            continue
        title, width = ax.title, room(ax)
        rest = title.get_text()
        for s in sep:  # split after each separator, keeping it
            rest = rest.replace(s, s.rstrip() + "\0")
        lines, line = [], ""
        for piece in (p.lstrip() for p in rest.split("\0") if p):
            trial = f"{line} {piece}" if line else piece
            title.set_text(trial)
            if line and title.get_window_extent(renderer).width > width:
                lines.append(line)
                line = piece
            else:
                line = trial
        title.set_text("\n".join(lines + [line]))
    fig.tight_layout()
    return fig


def _smooth(y, k):
    y = np.asarray(y, dtype=float)
    if k <= 1 or len(y) < k:
        return y
    kernel = np.ones(k) / k
    # 'valid' then pad the front so the curve stays aligned with the steps it averages
    s = np.convolve(y, kernel, mode="valid")
    return np.concatenate([np.full(k - 1, np.nan), s])


def plot_history(history, path=None, smooth=None):
    """Two panels: the losses, and D(x) with D(G(z)) (probabilities) against the step.

    A discriminator that wins outright shows D(x) -> 1 and D(G(z)) -> 0; at the game's
    equilibrium both sit at 0.5. ``smooth`` averages over that many steps (default: ~1 %).
    ``history``: lists ``d_loss``, ``g_loss`` and optionally ``d_real``, ``d_fake`` (one value per step).

    Without ``path`` the figure is made with pyplot, for a notebook to show. With ``path`` it is a
    plain ``matplotlib.figure.Figure`` saved as a PNG (90 dpi): pyplot's backend and list of open
    figures are left as they were, so a training run never changes how the reader's own plots
    display (``~`` in ``path`` is the home folder). Returns the figure either way. Raises
    ``ValueError`` for a history without steps.
    """
    n = len(history.get("d_loss", []))
    if n == 0:
        raise ValueError("history has no steps to plot")
    if path is None:
        import matplotlib.pyplot as plt
        fig = plt.figure(figsize=(11, 3.6))
    else:
        from matplotlib.figure import Figure
        fig = Figure(figsize=(11, 3.6))  # not registered with pyplot: nothing to close, no backend needed
    a, b = fig.subplots(1, 2)
    smooth = smooth or max(1, n // 100)
    steps = np.arange(1, n + 1)
    for key, label in (("d_loss", "discriminator loss"), ("g_loss", "generator loss")):
        a.plot(steps, _smooth(history[key], smooth), label=label)
    a.set_xlabel("step")
    a.set_ylabel("loss")
    a.legend()
    for key, label in (("d_real", "D(x), real"), ("d_fake", "D(G(z)), fake")):
        if key in history:
            b.plot(steps, _smooth(history[key], smooth), label=label)
    b.axhline(0.5, color="grey", lw=0.8, ls="--")
    b.set_ylim(0, 1)
    b.set_xlabel("step")
    b.set_ylabel("mean discriminator output")
    b.legend()
    fig.tight_layout()
    if path is not None:
        path = _path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=90)
    return fig


def make_gif(frames, path, duration=0.4, loop=0):
    """Write a GIF from PNG paths (or uint8 arrays ``[H, W, C]``), e.g. the fixed-noise grids of a run;
    ``duration``: seconds per frame; ``~`` in paths is the home folder. Returns the GIF's path."""
    import imageio.v3 as iio
    pictures = [iio.imread(_path(f)) if isinstance(f, (str, os.PathLike)) else np.asarray(f) for f in frames]
    if not pictures:
        raise ValueError("make_gif() needs at least one frame")
    path = _path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(path, np.stack(pictures), duration=int(duration * 1000), loop=loop)
    return path
