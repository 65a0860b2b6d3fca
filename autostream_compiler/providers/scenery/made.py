"""made: places people built — a city skyline at dusk and a laboratory bench with glassware."""

from __future__ import annotations

import cv2
import numpy as np

from .base import (
    Layer,
    Palette,
    cloud_mass,
    glow,
    mix,
    scale,
    tone_to,
    vertical_gradient,
)

# --- city ---------------------------------------------------------------------------------------------------------


def _windows(
    layer: Layer,
    rng: np.random.Generator,
    x0: float,
    x1: float,
    top: float,
    bottom: float,
    size: float,
    lit: float,
    colors: list[np.ndarray],
) -> None:
    """A grid of windows over a facade, some lit in warm tones, grouped by colour into few fill calls."""
    ww, wh = size, size * 1.5
    cols = int((x1 - x0 - ww) / (ww * 2.1))
    rows = int((bottom - top - wh) / (wh * 1.9))
    if cols < 1 or rows < 1:
        return
    gx = x0 + (x1 - x0 - (cols * ww * 2.1 - ww * 1.1)) / 2
    buckets: list[list[np.ndarray]] = [[] for _ in colors]
    on = rng.random((rows, cols)) < lit
    tint = rng.integers(0, len(colors), (rows, cols))
    for r in range(rows):
        y = top + wh * 0.9 + r * wh * 1.9
        for c in range(cols):
            if on[r, c]:
                x = gx + c * ww * 2.1
                buckets[tint[r, c]].append(np.array([(x, y), (x + ww, y), (x + ww, y + wh), (x, y + wh)]))
    for color, shapes in zip(colors, buckets):
        layer.polys(shapes, color)


def _building(
    layer: Layer,
    rng: np.random.Generator,
    x: float,
    bw: float,
    bh: float,
    ground: float,
    color: np.ndarray,
    historic: bool,
    smoke: list[tuple[float, float, float]],
) -> tuple[float, float]:
    """One building's silhouette (modern tower or historic roofline); returns the facade's top row and width."""
    top = ground - bh
    kind = rng.random()
    if not historic:
        if kind < 0.35:  # setback tower with an antenna
            layer.rect(x, top, x + bw, ground + 2, color)
            inset = bw * 0.18
            t2 = top - bh * rng.uniform(0.12, 0.25)
            layer.rect(x + inset, t2, x + bw - inset, top + 1, color)
            layer.line([(x + bw / 2, t2), (x + bw / 2, t2 - bh * 0.18)], color, max(1.0, bw * 0.04))
        elif kind < 0.55:  # slanted crown
            d = bh * rng.uniform(0.06, 0.14) * rng.choice([-1, 1])
            layer.poly([(x, ground + 2), (x, top + max(d, 0)), (x + bw, top + max(-d, 0)), (x + bw, ground + 2)], color)
        elif kind < 0.7:  # spire-topped skyscraper
            layer.rect(x, top, x + bw, ground + 2, color)
            layer.poly([(x + bw * 0.2, top + 1), (x + bw / 2, top - bh * 0.22), (x + bw * 0.8, top + 1)], color)
        elif kind < 0.8:  # rounded crown
            layer.rect(x, top, x + bw, ground + 2, color)
            layer.ellipse(x + bw / 2, top + 1, bw / 2, bw * 0.35, color, start=180, end=360)
        else:
            layer.rect(x, top, x + bw, ground + 2, color)
        return top, bw
    if kind < 0.3:  # gabled house(s) with chimneys
        layer.rect(x, top, x + bw, ground + 2, color)
        layer.poly([(x - bw * 0.04, top + 1), (x + bw / 2, top - bw * 0.45), (x + bw * 1.04, top + 1)], color)
        if rng.random() < 0.7:
            cx = x + bw * rng.uniform(0.15, 0.75)
            ch = bw * rng.uniform(0.25, 0.4)
            layer.rect(cx, top - ch, cx + bw * 0.1, top, color)
            smoke.append((cx + bw * 0.05, top - ch, bw * 0.12))
    elif kind < 0.5:  # domed hall
        layer.rect(x, top, x + bw, ground + 2, color)
        dr = bw * 0.32
        layer.rect(x + bw / 2 - dr, top - dr * 0.5, x + bw / 2 + dr, top + 1, color)
        layer.ellipse(x + bw / 2, top - dr * 0.5, dr, dr * 1.05, color, start=180, end=360)
        layer.rect(x + bw / 2 - dr * 0.12, top - dr * 1.8, x + bw / 2 + dr * 0.12, top - dr * 1.3, color)
        layer.line([(x + bw / 2, top - dr * 1.8), (x + bw / 2, top - dr * 2.2)], color, max(1.0, bw * 0.02))
    elif kind < 0.7:  # church tower with a steep spire
        tw = bw * 0.45
        tx = x + (bw - tw) / 2
        layer.rect(x, top + bh * 0.35, x + bw, ground + 2, color)
        layer.rect(tx, top, tx + tw, ground + 2, color)
        layer.poly([(tx - tw * 0.05, top + 1), (tx + tw / 2, top - tw * 2.2), (tx + tw * 1.05, top + 1)], color)
        return top + bh * 0.35, bw
    elif kind < 0.85:  # clock tower
        layer.rect(x, top, x + bw, ground + 2, color)
        layer.poly([(x, top + 1), (x + bw / 2, top - bw * 0.7), (x + bw, top + 1)], color)
        return top, bw
    else:  # factory with tall chimneys
        layer.rect(x, top, x + bw, ground + 2, color)
        teeth = max(2, int(bw / (bh * 0.35)))
        for k in range(teeth):
            a = x + bw * k / teeth
            layer.poly([(a, top + 1), (a, top - bw / teeth * 0.5), (a + bw / teeth, top + 1)], color)
        cx = x + bw * rng.uniform(0.2, 0.8)
        ch = bh * rng.uniform(0.5, 0.9)
        layer.poly(
            [
                (cx - bw * 0.05, top + 1),
                (cx - bw * 0.035, top - ch),
                (cx + bw * 0.035, top - ch),
                (cx + bw * 0.05, top + 1),
            ],
            color,
        )
        smoke.append((cx, top - ch, bw * 0.1))
    return top, bw


def draw_city(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A city skyline at dusk — glass towers or domes, spires and chimneys — with lit windows and a river below."""
    s = min(w, h)
    historic = rng.random() < 0.45
    ground = rng.uniform(0.74, 0.79) * h
    top = mix(pal.dark, pal.deep, 0.5)
    horizon = mix(mix(pal.warm, pal.sunlight, 0.35), pal.accent, 0.1)
    img = vertical_gradient(h, w, [(0, top), (0.4, mix(top, pal.accent, 0.45)), (ground / h, horizon), (1, horizon)])
    sun_x, sun_y = rng.uniform(0.25, 0.75) * w, ground - rng.uniform(0.1, 0.2) * h
    glow(
        img, [(sun_x, sun_y, 0.25 * s, mix(pal.warm, pal.sunlight, 0.4), 0.8), (sun_x, sun_y, 0.9 * s, pal.warm, 0.35)]
    )
    sun = Layer(h, w)
    sun.circle(sun_x, sun_y, 0.07 * s, mix(pal.sunlight, pal.warm, 0.25))
    sun.composite(img, blur=0.003 * s)
    streaks = Layer(h, w, 0.5)
    for _ in range(int(rng.integers(3, 7))):
        cy, cx = rng.uniform(0.1, 0.45) * h, rng.uniform(0, w)
        streaks.ellipse(
            cx,
            cy,
            rng.uniform(0.1, 0.3) * w,
            rng.uniform(0.005, 0.015) * h,
            mix(pal.warm, pal.sunlight, 0.5),
            rng.uniform(0.3, 0.6),
        )
    streaks.composite(img, blur=0.006 * s)

    warm = [mix(pal.tone((255, 205, 120), 0.25), pal.sunlight, k) for k in (0.0, 0.3, 0.6)]
    smoke: list[tuple[float, float, float]] = []
    for depth in range(3):
        t = depth / 2
        color = mix(mix(pal.dark, pal.deep, 0.5), horizon, 0.5 * (1 - t) ** 1.2) if depth < 2 else scale(pal.dark, 0.8)
        layer = Layer(h, w)
        x = -rng.uniform(0, 0.05) * w
        hi, lo = (0.16, 0.34) if depth == 0 else ((0.12, 0.42) if depth == 1 else (0.06, 0.22))
        while x < w:
            bw = rng.uniform(0.035, 0.08) * w * (0.8 + 0.4 * t) * (1.4 if historic else 1.0)
            bh = rng.uniform(hi, lo) * h * (1.6 if (not historic and depth == 1 and rng.random() < 0.15) else 1.0)
            facade_top, fw = _building(
                layer, rng, x, bw, bh, ground, scale(color, rng.uniform(0.92, 1.08)), historic, smoke
            )
            if depth > 0:
                _windows(
                    layer,
                    rng,
                    x,
                    x + fw,
                    facade_top,
                    ground - 0.01 * h,
                    0.006 * s * (0.8 + 0.5 * t),
                    0.18 + 0.3 * t,
                    warm,
                )
            x += bw * rng.uniform(0.85, 1.15)
        layer.composite(img, blur=0.0015 * s * (1 - t))
        if depth == 0:
            glow(img, [(sun_x, ground - 0.05 * h, 0.5 * w, pal.warm, 0.25)])
    if smoke:
        blobs = []
        for sx, sy, r in smoke[:: max(1, len(smoke) // 3)][:3]:
            for k in range(6):
                blobs.append((sx + k * r * 0.9, sy - k * r * 1.1, r * (0.8 + 0.3 * k), r * (0.8 + 0.3 * k)))
        smoke_c = mix(horizon, pal.sunlight, 0.3)
        cloud_mass(
            img, rng, blobs, mix(pal.deep, horizon, 0.3), smoke_c, (sun_x - smoke[0][0], -0.5 * h), 0.45, rough=0.6
        )

    # The river: the skyline mirrored, rippled and darkened, with the sun's path.
    gi = int(ground)
    rows = h - gi
    if rows > 0 and gi > 0:
        j = np.arange(rows)
        src = np.clip(gi - 1 - j, 0, h - 1)
        off = (np.sin(j * 0.45 + rng.uniform(0, 6)) * (1 + 6 * j / max(rows, 1)) * s / 1080).astype(np.int64)
        xs = np.clip(np.arange(w)[None, :] + off[:, None], 0, w - 1)
        refl = img[src[:, None], xs]
        refl = cv2.blur(refl, (max(1, int(0.01 * w)), 1))
        water = mix(pal.dark, pal.deep, 0.4)
        img[gi:] = refl * 0.55 + water * 0.45
        glow(
            img,
            [
                (sun_x, ground + (h - ground) * f, 0.05 * s + 0.1 * s * f, pal.sunlight, 0.3)
                for f in np.linspace(0.1, 0.9, 4)
            ],
        )
        rip = Layer(h, w)
        for _ in range(int(60 * w / 1920) + 10):
            yy = rng.uniform(ground + 0.005 * h, h)
            xx = rng.uniform(0, w)
            ln = rng.uniform(0.01, 0.05) * w
            rip.line(
                [(xx, yy), (xx + ln, yy)],
                mix(horizon, pal.sunlight, 0.3),
                max(1.0, 1.5 * s / 1080),
                rng.uniform(0.15, 0.4),
            )
        rip.rect(0, ground - 0.002 * h, w, ground + 0.004 * h, scale(pal.dark, 0.7))
        rip.composite(img)
    return img


# --- laboratory ---------------------------------------------------------------------------------------------------


def _clip_below(poly: np.ndarray, level: float) -> np.ndarray:
    """The part of a polygon below row `level` (larger y), by Sutherland–Hodgman against one edge."""
    out = []
    n = len(poly)
    for i in range(n):
        a, b = poly[i], poly[(i + 1) % n]
        ina, inb = a[1] >= level, b[1] >= level
        if ina:
            out.append(a)
        if ina != inb:
            t = (level - a[1]) / (b[1] - a[1])
            out.append(a + (b - a) * t)
    return np.array(out) if out else np.zeros((0, 2))


def _vessel(
    glass: Layer,
    liquid: Layer,
    outline: np.ndarray,
    level: float,
    fluid: np.ndarray,
    rim: np.ndarray,
    u: float,
    rng: np.random.Generator,
) -> None:
    """Glassware: a faint glass body, a coloured liquid up to `level`, outline, meniscus, highlight and bubbles."""
    glass.poly(outline, rim, 0.12)
    liq = _clip_below(outline, level)
    if len(liq) >= 3:
        liquid.poly(liq, fluid, 0.88)
        left, right = liq[:, 0].min(), liq[:, 0].max()
        liquid.line([(left + 2 * u, level), (right - 2 * u, level)], mix(fluid, rim, 0.6), 2.5 * u, 0.9)
        bottom = liq[:, 1].max()
        for _ in range(int(rng.integers(2, 6))):
            bx = rng.uniform(left + (right - left) * 0.25, right - (right - left) * 0.25)
            by = rng.uniform(level + 6 * u, max(level + 7 * u, bottom - 6 * u))
            liquid.ellipse(
                bx,
                by,
                3 * u * rng.uniform(0.6, 1.5),
                3 * u * rng.uniform(0.6, 1.5),
                mix(fluid, rim, 0.7),
                0.7,
                thickness=max(1.0, u),
            )
    glass.line(outline, rim, max(1.0, 3 * u), 0.7, closed=True)
    x0, x1 = outline[:, 0].min(), outline[:, 0].max()
    y0, y1 = outline[:, 1].min(), outline[:, 1].max()
    hx = x0 + (x1 - x0) * 0.22
    glass.line([(hx, y0 + (y1 - y0) * 0.45), (hx, y1 - (y1 - y0) * 0.12)], rim, max(1.0, 4 * u), 0.45)


def _erlenmeyer(x: float, base: float, hgt: float) -> np.ndarray:
    nw, bw = 0.16 * hgt, 0.8 * hgt
    return np.array(
        [
            (x - nw / 2, base - hgt),
            (x - nw / 2, base - 0.66 * hgt),
            (x - bw / 2, base - 0.06 * hgt),
            (x - bw / 2 + 0.04 * hgt, base),
            (x + bw / 2 - 0.04 * hgt, base),
            (x + bw / 2, base - 0.06 * hgt),
            (x + nw / 2, base - 0.66 * hgt),
            (x + nw / 2, base - hgt),
        ]
    )


def _round_flask(x: float, base: float, hgt: float) -> np.ndarray:
    r = 0.34 * hgt
    cy = base - r
    nw = 0.13 * hgt
    a = np.arcsin(nw / 2 / r)
    ang = np.linspace(-np.pi / 2 + a, 1.5 * np.pi - a, 40)
    arc = np.stack([x + r * np.cos(ang), cy - r * np.sin(ang)], 1)
    return np.concatenate([[(x + nw / 2, base - hgt)], arc, [(x - nw / 2, base - hgt)]])


def _beaker(x: float, base: float, hgt: float) -> np.ndarray:
    bw = 0.75 * hgt
    return np.array(
        [
            (x - bw / 2 - 0.06 * hgt, base - hgt),
            (x - bw / 2, base - 0.94 * hgt),
            (x - bw / 2, base - 0.03 * hgt),
            (x - bw / 2 + 0.03 * hgt, base),
            (x + bw / 2 - 0.03 * hgt, base),
            (x + bw / 2, base - 0.03 * hgt),
            (x + bw / 2, base - hgt),
        ]
    )


def _cylinder(x: float, base: float, hgt: float) -> np.ndarray:
    bw = 0.2 * hgt
    return np.array(
        [
            (x - bw / 2, base - hgt),
            (x - bw / 2, base - 0.06 * hgt),
            (x + bw / 2, base - 0.06 * hgt),
            (x + bw / 2, base - hgt),
        ]
    )


def _microscope(
    layer: Layer, x: float, base: float, hgt: float, metal: np.ndarray, shine: np.ndarray, facing: int
) -> None:
    """A microscope in silhouette: foot, curved arm, stage, slanted tube with eyepiece and objective, focus knob."""
    f = facing
    u = hgt / 100
    layer.poly([(x - 28 * u, base), (x - 24 * u, base - 8 * u), (x + 24 * u, base - 8 * u), (x + 28 * u, base)], metal)
    arm = [
        (x - f * 14 * u, base - 8 * u),
        (x - f * 16 * u, base - 40 * u),
        (x - f * 10 * u, base - 62 * u),
        (x + f * 2 * u, base - 74 * u),
    ]
    layer.line(arm, metal, 12 * u)
    layer.rect(x - 22 * u, base - 40 * u, x + 18 * u, base - 35 * u, metal)
    tube = [(x + f * 14 * u, base - 48 * u), (x - f * 6 * u, base - 96 * u)]
    layer.line(tube, metal, 11 * u)
    layer.line([(x - f * 6 * u, base - 96 * u), (x - f * 9 * u, base - 104 * u)], metal, 8 * u)
    layer.line([(x + f * 14 * u, base - 48 * u), (x + f * 15 * u, base - 42 * u)], metal, 5 * u)
    layer.circle(x - f * 14 * u, base - 40 * u, 6 * u, scale(metal, 1.3))
    layer.line([(x + f * 12 * u, base - 52 * u), (x - f * 4 * u, base - 92 * u)], shine, max(1.0, 2 * u), 0.6)
    layer.line([(x - 20 * u, base - 40 * u), (x + 16 * u, base - 40 * u)], shine, max(1.0, 1.5 * u), 0.5)


def draw_laboratory(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A laboratory: a bench of glassware with coloured liquids and a microscope, shelves behind, a warm lamp."""
    s = min(w, h)
    u = s / 1080
    bench = rng.uniform(0.68, 0.72) * h
    wall_top, wall_low = mix(pal.dark, pal.deep, 0.45), mix(mix(pal.deep, pal.mid, 0.3), pal.sunlight, 0.08)
    img = vertical_gradient(h, w, [(0, wall_top), (bench / h, wall_low), (1, wall_low)])
    lamp_x = rng.uniform(0.3, 0.7) * w
    lamp_c = mix(pal.tone((255, 214, 150), 0.2), pal.sunlight, 0.3)
    window = rng.random() < 0.45
    shelf_side = 1 if lamp_x < w / 2 else -1

    # Light source: a window with daylight, or a pendant lamp.
    deco = Layer(h, w)
    if window:
        wx = w * (0.5 - shelf_side * 0.3)
        ww_, wh_ = 0.22 * w, 0.36 * h
        wy = 0.14 * h
        sky = mix(pal.sunlight, pal.cool, 0.35)
        deco.rect(wx - ww_ / 2, wy, wx + ww_ / 2, wy + wh_, sky)
        deco.rect(wx - ww_ / 2, wy + wh_ * 0.45, wx + ww_ / 2, wy + wh_, mix(sky, pal.sunlight, 0.6), 0.7)
        hills = [
            (wx - ww_ / 2 + ww_ * k / 8, wy + wh_ * (0.8 - 0.08 * np.sin(k * 1.3 + rng.uniform(0, 6))))
            for k in range(9)
        ]
        deco.poly([*hills, (wx + ww_ / 2, wy + wh_), (wx - ww_ / 2, wy + wh_)], mix(sky, pal.deep, 0.45))
        frame = scale(wall_top, 0.8)
        deco.lines(
            [
                np.array([(wx, wy), (wx, wy + wh_)]),
                np.array([(wx - ww_ / 2, wy + wh_ / 2), (wx + ww_ / 2, wy + wh_ / 2)]),
            ],
            frame,
            6 * u,
        )
        deco.line(
            np.array([(wx - ww_ / 2, wy), (wx + ww_ / 2, wy), (wx + ww_ / 2, wy + wh_), (wx - ww_ / 2, wy + wh_)]),
            frame,
            8 * u,
            closed=True,
        )
        light_x = wx
        deco.composite(img)
        glow(img, [(wx, wy + wh_ / 2, 0.4 * s, pal.sunlight, 0.45), (wx, bench, 0.5 * s, pal.sunlight, 0.2)])
    else:
        light_x = lamp_x
        glow(img, [(lamp_x, 0.22 * h, 0.5 * s, lamp_c, 0.45), (lamp_x, bench, 0.45 * s, lamp_c, 0.3)])
        cone = Layer(h, w, 0.25)
        cone.poly(
            [
                (lamp_x - 0.05 * s, 0.2 * h),
                (lamp_x + 0.05 * s, 0.2 * h),
                (lamp_x + 0.35 * s, bench),
                (lamp_x - 0.35 * s, bench),
            ],
            lamp_c,
            0.18,
        )
        cone.composite(img, blur=0.03 * s, mode="screen")

    # Tiled backsplash and shelves of bottles and books, a little out of focus.
    back = Layer(h, w)
    tile = 0.05 * s
    back.lines(
        [np.array([(0, y), (w, y)]) for y in np.arange(bench - tile, bench - 0.25 * h, -tile)],
        scale(wall_low, 0.85),
        max(1.0, 2 * u),
        0.5,
    )
    yrange = np.arange(bench - tile, bench - 0.25 * h, -tile)
    y_hi = float(yrange[-1]) if len(yrange) else bench
    back.lines(
        [np.array([(x, y_hi), (x, bench)]) for x in np.arange(0, w, tile)], scale(wall_low, 0.85), max(1.0, 2 * u), 0.5
    )
    shelf_c = mix(pal.tone((120, 84, 56), 0.3), pal.dark, 0.3)
    sx0, sx1 = (0.5 * w, 0.96 * w) if shelf_side > 0 else (0.04 * w, 0.5 * w)
    if not window:
        sx0, sx1 = 0.06 * w, 0.94 * w
    bottle_cols = [
        mix(c, wall_top, 0.35)
        for c in (pal.accent, pal.tone((90, 170, 110), 0.3), pal.tone((80, 120, 200), 0.3), pal.warm, pal.mid)
    ]
    for sy in (0.24 * h, 0.42 * h):
        back.rect(sx0, sy, sx1, sy + 0.012 * h, shelf_c)
        x = sx0 + 0.01 * w
        while x < sx1 - 0.03 * w:
            kind = rng.random()
            c = bottle_cols[int(rng.integers(0, len(bottle_cols)))]
            if kind < 0.35:  # books
                for _ in range(int(rng.integers(3, 7))):
                    bw, bh = rng.uniform(0.006, 0.012) * w, rng.uniform(0.07, 0.11) * h
                    back.rect(
                        x,
                        sy - bh,
                        x + bw,
                        sy,
                        scale(bottle_cols[int(rng.integers(0, len(bottle_cols)))], rng.uniform(0.7, 1.0)),
                    )
                    x += bw * 1.1
            elif kind < 0.75:  # bottle with a neck and cap
                bw, bh = rng.uniform(0.02, 0.035) * w, rng.uniform(0.06, 0.1) * h
                back.rect(x, sy - bh * 0.7, x + bw, sy, c)
                back.ellipse(x + bw / 2, sy - bh * 0.7, bw / 2, bw * 0.25, c)
                back.rect(x + bw * 0.35, sy - bh, x + bw * 0.65, sy - bh * 0.7, c)
                back.rect(x + bw * 0.3, sy - bh * 1.05, x + bw * 0.7, sy - bh * 0.93, scale(wall_top, 0.7))
                x += bw
            else:  # jar
                bw, bh = rng.uniform(0.03, 0.045) * w, rng.uniform(0.04, 0.06) * h
                back.rect(x, sy - bh, x + bw, sy, c, 0.85)
                back.rect(x - bw * 0.05, sy - bh * 1.12, x + bw * 1.05, sy - bh, scale(wall_top, 0.7))
                x += bw
            x += rng.uniform(0.006, 0.02) * w
    back.composite(img, blur=1.2 * u)
    if not window:
        lamp = Layer(h, w)
        lamp.line([(lamp_x, 0), (lamp_x, 0.12 * h)], scale(pal.dark, 0.8), max(1.0, 3 * u))
        lamp.poly(
            [
                (lamp_x - 0.012 * s, 0.12 * h),
                (lamp_x + 0.012 * s, 0.12 * h),
                (lamp_x + 0.07 * s, 0.2 * h),
                (lamp_x - 0.07 * s, 0.2 * h),
            ],
            scale(pal.dark, 0.9),
        )
        lamp.ellipse(lamp_x, 0.2 * h, 0.03 * s, 0.012 * s, lamp_c)
        lamp.composite(img)
        glow(img, [(lamp_x, 0.205 * h, 0.04 * s, lamp_c, 0.9)], mode="add")

    # The bench: a lit worktop edge over cabinet fronts.
    desk = Layer(h, w)
    top_c = mix(mix(pal.deep, pal.mid, 0.4), pal.sunlight, 0.15)
    desk.rect(-2, bench, w + 2, bench + 0.03 * h, top_c)
    desk.rect(-2, bench + 0.03 * h, w + 2, h + 2, tone_to(mix(pal.dark, pal.deep, 0.5), 28))
    desk.line([(0, bench + 1.5 * u), (w, bench + 1.5 * u)], mix(top_c, pal.sunlight, 0.5), 3 * u, 0.8)
    doors = max(2, int(w / (0.22 * s)))
    for k in range(doors + 1):
        x = w * k / doors
        desk.line([(x, bench + 0.05 * h), (x, h)], scale(pal.dark, 0.6), 3 * u, 0.7)
        if k < doors:
            desk.line(
                [(x + w / doors * 0.45, bench + 0.08 * h), (x + w / doors * 0.55, bench + 0.08 * h)],
                mix(top_c, pal.sunlight, 0.3),
                5 * u,
                0.7,
            )
    desk.composite(img)
    glow(img, [(light_x, bench, 0.4 * s, lamp_c if not window else pal.sunlight, 0.15)], mode="add")

    # Glassware and the microscope along the bench.
    fluids = [
        pal.accent,
        pal.tone((70, 200, 120), 0.3),
        pal.tone((60, 140, 235), 0.3),
        pal.tone((220, 60, 150), 0.3),
        pal.tone((245, 180, 50), 0.3),
    ]
    rng.shuffle(fluids)
    rim = mix(pal.sunlight, pal.cool, 0.1)
    shadows = Layer(h, w, 0.5)
    glass, liquid, gear = Layer(h, w), Layer(h, w), Layer(h, w)
    kinds = ["erlenmeyer", "round", "beaker", "rack", "cylinder", "erlenmeyer", "beaker"]
    order = [kinds[i] for i in rng.permutation(len(kinds))][: int(rng.integers(4, 6))]
    micro_at = int(rng.integers(0, len(order) + 1))
    order.insert(micro_at, "microscope")
    slots = np.linspace(0.1, 0.9, len(order)) * w + rng.uniform(-0.02, 0.02, len(order)) * w
    metal = scale(mix(pal.dark, pal.deep, 0.3), 1.1)
    shine = mix(metal, pal.sunlight, 0.45)
    glows = []
    for i, (kind, x) in enumerate(zip(order, slots)):
        fluid = fluids[i % len(fluids)]
        hgt = s * rng.uniform(0.22, 0.3)
        base = bench + 0.004 * h
        shadows.ellipse(x, base, 0.09 * s, 0.012 * s, scale(pal.dark, 0.5), 0.45)
        if kind == "microscope":
            _microscope(gear, x, base, s * rng.uniform(0.3, 0.36), metal, shine, 1 if x > w / 2 else -1)
            continue
        if kind == "rack":
            rw = 0.16 * s
            tubes = int(rng.integers(4, 6))
            gear.rect(x - rw / 2, base - 0.03 * s, x + rw / 2, base - 0.022 * s, shelf_c)
            gear.rect(x - rw / 2, base - 0.09 * s, x + rw / 2, base - 0.08 * s, shelf_c)
            gear.lines(
                [
                    np.array([(x - rw / 2 + 3 * u, base), (x - rw / 2 + 3 * u, base - 0.09 * s)]),
                    np.array([(x + rw / 2 - 3 * u, base), (x + rw / 2 - 3 * u, base - 0.09 * s)]),
                ],
                shelf_c,
                5 * u,
            )
            for k in range(tubes):
                tx = x - rw / 2 + rw * (k + 0.5) / tubes
                tt, tb = base - 0.16 * s, base - 0.02 * s
                tw = rw / tubes * 0.55
                c = fluids[(i + k) % len(fluids)]
                glass.line([(tx, tt), (tx, tb)], rim, tw, 0.16)
                lvl = tb - (tb - tt) * rng.uniform(0.3, 0.7)
                liquid.line([(tx, lvl), (tx, tb)], c, tw * 0.8, 0.9)
                glass.line([(tx - tw * 0.25, tt + 4 * u), (tx - tw * 0.25, tb - 4 * u)], rim, max(1.0, 2 * u), 0.45)
                glows.append((tx, (lvl + tb) / 2, tw * 2, c, 0.25))
            continue
        if kind == "erlenmeyer":
            outline = _erlenmeyer(x, base, hgt)
            level = base - hgt * rng.uniform(0.2, 0.5)
        elif kind == "round":
            hgt *= 0.85
            outline = _round_flask(x, base - 0.06 * s, hgt)
            level = base - 0.06 * s - hgt * rng.uniform(0.25, 0.5)
            gear.line([(x + 0.34 * hgt + 0.03 * s, base), (x + 0.34 * hgt + 0.03 * s, base - hgt * 1.25)], metal, 6 * u)
            gear.line([(x + 0.34 * hgt + 0.03 * s, base - hgt * 0.95), (x, base - hgt * 0.95)], metal, 5 * u)
            gear.rect(x - 0.05 * s, base - 0.012 * s, x + 0.34 * hgt + 0.05 * s, base, metal)
            gear.poly(
                [
                    (x - 0.012 * s, base - 0.012 * s),
                    (x - 0.008 * s, base - 0.05 * s),
                    (x + 0.008 * s, base - 0.05 * s),
                    (x + 0.012 * s, base - 0.012 * s),
                ],
                metal,
            )
            flame = pal.tone((90, 150, 255), 0.25)
            gear.ellipse(x, base - 0.062 * s, 0.008 * s, 0.014 * s, flame, 0.9)
            glows.append((x, base - 0.065 * s, 0.03 * s, flame, 0.6))
        elif kind == "beaker":
            hgt *= 0.65
            outline = _beaker(x, base, hgt)
            level = base - hgt * rng.uniform(0.3, 0.7)
            marks = [
                np.array([(outline[2, 0] + 2 * u, base - hgt * f), (outline[2, 0] + 0.12 * hgt, base - hgt * f)])
                for f in (0.25, 0.45, 0.65, 0.85)
            ]
            glass.lines(marks, rim, max(1.0, 2 * u), 0.5)
        else:
            hgt *= 1.05
            outline = _cylinder(x, base, hgt)
            level = base - hgt * rng.uniform(0.3, 0.8)
            gear.rect(x - 0.2 * hgt, base - 0.05 * hgt, x + 0.2 * hgt, base, rim, 0.35)
        _vessel(glass, liquid, outline, level, fluid, rim, u, rng)
        glows.append((x, (level + outline[:, 1].max()) / 2, 0.08 * s, fluid, 0.22))
    shadows.composite(img, blur=0.01 * s)
    gear.composite(img)
    liquid.composite(img)
    glass.composite(img)
    glow(img, glows, mode="add")
    return img
