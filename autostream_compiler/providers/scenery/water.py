"""water: the sea with a sailing ship, and a coast of cliffs, lighthouse, surf and beach."""

from __future__ import annotations

import cv2
import numpy as np

from .base import (
    F32,
    Layer,
    Palette,
    cloud_field,
    cloud_mass,
    cumulus_blobs,
    fill_below,
    glow,
    mix,
    ridge,
    scale,
    smoothstep,
    tone_to,
    value_noise,
    vertical_gradient,
)


def _sky(h: int, w: int, top: np.ndarray, low: np.ndarray, horizon: float) -> np.ndarray:
    """A sky graded down to the horizon row (a fraction of the height), continuing as a sea base below."""
    stops = [(p * horizon, mix(top, low, p**1.5)) for p in np.linspace(0, 1, 8)]
    return vertical_gradient(h, w, [*stops, (1.0, low)])


def _sea_base(img: np.ndarray, horizon: float, near: np.ndarray, far: np.ndarray) -> None:
    """Grade the water from a hazy horizon colour to a deep near colour."""
    h = img.shape[0]
    y0 = int(horizon)
    rows = np.arange(y0, h, dtype=F32)
    t = (np.clip((rows - horizon) / max(h - horizon, 1), 0, 1) ** 0.6)[:, None, None]
    img[y0:] = far + (near - far) * t


def _wave_rows(
    rng: np.random.Generator,
    w: int,
    h: int,
    horizon: float,
    bottom: float,
    count: int,
    amp: float,
) -> list[tuple[float, np.ndarray, float]]:
    """Wave rows from the horizon toward the viewer: (baseline row, crest profile, closeness 0..1) each."""
    out = []
    xs = np.arange(0, w + 8, 8, dtype=F32)
    for i in range(count):
        t = (i + 1) / count
        y = horizon + (bottom - horizon) * t**1.9
        a = h * amp * (0.06 + t**1.4)
        lam = w * (0.015 + 0.11 * t**1.2) * rng.uniform(0.8, 1.2)
        ph = rng.uniform(0, 1)
        crest = 1 - np.abs(np.sin(np.pi * (xs / lam + ph)))
        swell = 0.6 + 0.4 * np.sin(2 * np.pi * (xs / (lam * rng.uniform(3, 6)) + rng.uniform(0, 1)))
        out.append((y, np.stack([xs, y - a * crest**1.6 * swell], 1), t))
    return out


def _draw_row(
    layer: Layer,
    row: tuple[float, np.ndarray, float],
    spacing: float,
    trough: np.ndarray,
    face: np.ndarray,
    foam: np.ndarray,
    foam_alpha: float,
) -> None:
    """One wave row: a dark trough band, a lit face under the crest and a thin foam line along it."""
    y, prof, t = row
    bottom = y + spacing * 1.6 + 2
    band = np.concatenate([prof, [[prof[-1, 0], bottom], [prof[0, 0], bottom]]])
    layer.poly(band, trough, 0.22 + 0.3 * t)
    lit = np.concatenate([prof, (prof + (0, spacing * 0.45 + 1))[::-1]])
    layer.poly(lit, face, 0.18 + 0.25 * t)
    high = prof[:, 1] < y - (y - prof[:, 1]).max() * 0.35
    segs = np.split(prof, np.flatnonzero(np.diff(high.astype(np.int8))) + 1)
    segs = [q for q in segs if len(q) > 1 and q[:, 1].mean() < y - 0.5]
    layer.lines(segs, foam, 1 + 2.5 * t * layer.height / 1080, foam_alpha * (0.4 + 0.5 * t))


def _glitter(
    layer: Layer,
    rng: np.random.Generator,
    row: tuple[float, np.ndarray, float],
    sun_x: float,
    spread: float,
    color: np.ndarray,
    w: int,
) -> None:
    """Bright dashes of reflected sunlight on one wave row, densest under the sun."""
    y, prof, t = row
    for _ in range(int(2 + 6 * t)):
        x = sun_x + rng.normal(0, spread * (0.15 + t))
        if not 0 <= x < w:
            continue
        yy = float(np.interp(x, prof[:, 0], prof[:, 1])) + rng.uniform(0, 3 + 8 * t)
        ln = (0.004 + 0.03 * t) * w * rng.uniform(0.4, 1.2)
        layer.line([(x - ln / 2, yy), (x + ln / 2, yy)], color, 1 + 2 * t * layer.height / 1080, rng.uniform(0.4, 0.9))


def _ship(
    layer: Layer,
    rng: np.random.Generator,
    x0: float,
    y0: float,
    size: float,
    facing: int,
    tilt: float,
    hull: np.ndarray,
    stripe: np.ndarray,
    sail: np.ndarray,
    sail_shade: np.ndarray,
    flag: np.ndarray,
    storm: bool,
) -> None:
    """A square-rigged sailing ship standing on the waterline (x0, y0), `size` pixels long, bow to `facing`."""
    c, s = np.cos(tilt), np.sin(tilt)

    def P(pts: list[tuple[float, float]] | np.ndarray) -> np.ndarray:
        p = np.asarray(pts, np.float64)
        u, v = (p[:, 0] - 0.5) * facing * size, -p[:, 1] * size
        return np.stack([x0 + u * c - v * s, y0 + u * s + v * c], 1)

    line_w = max(1.0, 0.008 * size)
    masts = [(0.27, 0.7), (0.52, 0.84), (0.76, 0.72)] if rng.random() < 0.7 else [(0.36, 0.8), (0.68, 0.74)]
    rigging = []
    for mx, mh in masts:
        rigging += [P([(mx, mh), (1.2, 0.26)]), P([(mx, mh), (0.02, 0.17)])]
    layer.lines(rigging, scale(hull, 0.8), max(1.0, 0.0025 * size), 0.65)
    for mx, mh in masts:
        layer.line(P([(mx, 0.1), (mx, mh + 0.04)]), hull, line_w * 1.2)
    # Jibs from the foremast to the bowsprit, a spanker aft.
    fx, fh = masts[-1]
    layer.poly(P([(fx + 0.01, fh * 0.92), (1.2, 0.27), (fx + 0.05, 0.2)]), sail, 0.95)
    layer.poly(P([(fx + 0.015, fh * 0.7), (1.08, 0.22), (fx + 0.08, 0.2)]), mix(sail, sail_shade, 0.35), 0.95)
    ax, ah = masts[0]
    layer.poly(
        P([(ax - 0.01, ah * 0.8), (ax - 0.01, 0.22), (max(ax - 0.28, -0.05), 0.2), (max(ax - 0.2, 0.0), ah * 0.62)]),
        sail,
        0.95,
    )
    tiers = 2 if storm else 3
    for mx, mh in masts:
        for k in range(tiers):
            lo = 0.22 + (mh - 0.22) * k / tiers
            hi = 0.22 + (mh - 0.22) * (k + 0.88) / tiers
            wb = 0.2 * (1 - 0.22 * k) * (0.8 if storm else 1.0)
            wt = wb * 0.86
            bil = 0.035 * (1 - 0.15 * k)
            edge = np.linspace(-1, 1, 9)
            bottom = [(mx + e * wb / 2, lo - bil * (1 - e * e)) for e in edge]
            sail_pts = [(mx - wt / 2, hi), (mx + wt / 2, hi), *bottom[::-1]]
            layer.poly(P(sail_pts), sail)
            layer.poly(P([(mx, hi), (mx + wt / 2, hi), *bottom[::-1][:5]]), sail_shade, 0.45)
            layer.line(P([(mx - wt / 2 - 0.01, hi), (mx + wt / 2 + 0.01, hi)]), hull, line_w)
        layer.poly(P([(mx, mh + 0.04), (mx, mh + 0.005), (mx - 0.09, mh + 0.03)]), flag)
    sheer = [(0.0, 0.19), (0.07, 0.17), (0.2, 0.13), (0.5, 0.11), (0.8, 0.12), (0.94, 0.15), (1.0, 0.17)]
    keel = [(0.97, 0.07), (0.9, 0.0), (0.75, -0.05), (0.3, -0.05), (0.12, -0.03), (0.04, 0.04), (0.01, 0.12)]
    layer.poly(P(sheer + keel), hull)
    layer.line(P([(0.95, 0.15), (1.22, 0.27)]), hull, line_w * 1.1)
    wale = [(u, v - 0.035) for u, v in sheer[1:-1]]
    layer.line(P(wale), stripe, max(1.0, 0.014 * size))
    layer.lines(
        [P([(u, 0.085), (u + 0.018, 0.085)]) for u in np.linspace(0.2, 0.82, 9)],
        scale(hull, 0.6),
        max(1.0, 0.012 * size),
    )


def _small_ship(layer: Layer, x: float, y: float, size: float, facing: int, color: np.ndarray) -> None:
    """A distant ship: a hull sliver under two or three pale triangles of sail."""
    f = facing
    layer.poly(
        [
            (x - size / 2, y - size * 0.08),
            (x + size / 2, y - size * 0.1),
            (x + f * size * 0.35, y),
            (x - f * size * 0.35, y),
        ],
        color,
    )
    for mx, mh in ((-0.15, 0.7), (0.15, 0.85)):
        layer.poly(
            [
                (x + mx * size, y - mh * size),
                (x + mx * size, y - 0.1 * size),
                (x + (mx + 0.22 * f) * size, y - 0.12 * size),
            ],
            color,
        )


def _gulls(layer: Layer, rng: np.random.Generator, w: int, h: int, y_max: float, color: np.ndarray) -> None:
    """A few gulls as shallow Ms."""
    cx, cy = rng.uniform(0.15, 0.85) * w, rng.uniform(0.1, y_max) * h
    for _ in range(int(rng.integers(2, 6))):
        x, y = cx + rng.normal(0, 0.08) * w, cy + rng.normal(0, 0.04) * h
        sz = min(w, h) * rng.uniform(0.008, 0.02)
        flap = rng.uniform(0.2, 0.7)
        wing = [
            (x - sz, y - sz * flap),
            (x - sz * 0.45, y - sz * 0.15),
            (x, y + sz * 0.12),
            (x + sz * 0.45, y - sz * 0.15),
            (x + sz, y - sz * flap),
        ]
        layer.line(wing, color, max(1.0, sz * 0.16), 0.85)


# --- sea ----------------------------------------------------------------------------------------------------------


def draw_sea(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Open sea to the horizon with a sailing ship on the waves, calm at sunset or under a storm by seed."""
    s = min(w, h)
    storm = rng.random() < 0.35
    horizon = rng.uniform(0.5, 0.56) * h
    light = pal.light
    sea = pal.tone((28, 78, 112), 0.4)
    if storm:
        top, low = scale(mix(pal.dark, pal.deep, 0.5), 0.9), mix(pal.mid, pal.light, 0.2)
        sea = mix(sea, pal.dark, 0.35)
    else:
        top, low = mix(pal.deep, pal.cool, 0.4), mix(mix(pal.warm, light, 0.45), pal.accent, 0.1)
    img = _sky(h, w, top, low, horizon / h)
    sun_x = rng.uniform(0.2, 0.8) * w
    sun_y = horizon - rng.uniform(0.08, 0.22) * h
    sun_c = mix(pal.sunlight, pal.warm, 0.3)
    if storm:
        glow(img, [(sun_x, sun_y, 0.35 * s, light, 0.5)])
        cloud_field(
            img,
            rng,
            -0.05 * h,
            horizon * 0.9,
            0.7,
            scale(mix(pal.dark, pal.deep, 0.6), 0.8),
            mix(pal.mid, light, 0.3),
            cells=2.5,
        )
        for _ in range(int(rng.integers(2, 4))):
            cw = rng.uniform(0.18, 0.32) * w
            bx, by = rng.uniform(0.1, 0.9) * w, rng.uniform(0.25, 0.45) * h
            blobs = cumulus_blobs(rng, bx, by, cw, cw * rng.uniform(0.22, 0.32))
            cloud_mass(
                img,
                rng,
                blobs,
                scale(mix(pal.dark, pal.deep, 0.5), 0.85),
                mix(pal.mid, light, 0.25),
                (sun_x - bx, sun_y - by),
                0.95,
                base=by,
                under=scale(mix(pal.dark, pal.deep, 0.5), 0.7),
            )
    else:
        glow(img, [(sun_x, sun_y, 0.3 * s, mix(pal.warm, light, 0.5), 0.8), (sun_x, sun_y, 0.9 * s, pal.warm, 0.3)])
        # Long banks of evening cloud, their undersides gilded by the low sun.
        for _ in range(int(rng.integers(3, 6))):
            by = rng.uniform(0.1, 0.75) * horizon
            bx, bw_ = rng.uniform(0, w), rng.uniform(0.25, 0.6) * w
            bank = [
                (
                    bx + u * bw_ * 0.5,
                    by + rng.normal(0, 0.01) * h,
                    bw_ * rng.uniform(0.12, 0.2),
                    rng.uniform(0.012, 0.03) * h,
                )
                for u in np.linspace(-1, 1, 7)
            ]
            near = by / horizon
            cloud_mass(
                img,
                rng,
                bank,
                mix(mix(pal.mid, top, 0.5), low, 0.3 * near),
                mix(sun_c, light, 0.3),
                (sun_x - bx, sun_y - by),
                0.9,
                rough=0.6,
                haze=(low, 0.35 * near),
            )
        disc = Layer(h, w)
        disc.circle(sun_x, sun_y, 0.05 * s, sun_c)
        disc.composite(img, blur=0.003 * s)

    far = mix(sea, low, 0.55)
    _sea_base(img, horizon, scale(sea, 0.7), far)
    if not storm:  # the sun's path on the water
        glow(
            img,
            [
                (sun_x, horizon + (h - horizon) * f, (0.03 + 0.25 * f) * s, sun_c, 0.5 - 0.3 * f)
                for f in np.linspace(0, 1, 7)
            ],
        )
    haze = Layer(h, w)
    haze.rect(0, horizon - 0.004 * h, w, horizon + 0.004 * h, mix(low, light, 0.3), 0.5)
    haze.composite(img, blur=0.004 * h)

    rows = _wave_rows(rng, w, h, horizon, 1.05 * h, int(np.clip(h / 24, 10, 40)), 0.05 if storm else 0.022)
    trough, face = scale(sea, 0.45), mix(sea, light, 0.35)
    foam = mix(light, sea, 0.15)
    water = Layer(h, w)
    ship_y = horizon + rng.uniform(0.22, 0.32) * (h - horizon)
    ship_x = rng.uniform(0.32, 0.68) * w
    ship_size = min(0.6 * w, 0.5 * h, 0.36 * max(w, h)) * rng.uniform(0.85, 1.05)
    facing = 1 if rng.random() < 0.5 else -1
    hull = mix(pal.tone((62, 40, 28), 0.3), pal.dark, 0.45)
    sail = mix(pal.sunlight, pal.warm, 0.1) if not storm else mix(pal.sunlight, pal.mid, 0.3)
    if rng.random() < 0.6:
        fx = (ship_x + rng.choice([-1, 1]) * rng.uniform(0.25, 0.4) * w) % w
        _small_ship(water, fx, horizon + 0.006 * h, 0.06 * s, -facing, mix(pal.mid, low, 0.55))
    drawn = False
    for i, row in enumerate(rows):
        spacing = rows[i + 1][0] - row[0] if i + 1 < len(rows) else row[0] - rows[i - 1][0]
        if not drawn and row[0] > ship_y:
            _ship(
                water,
                rng,
                ship_x,
                ship_y,
                ship_size,
                facing,
                rng.uniform(-0.05, 0.05),
                hull,
                pal.accent,
                sail,
                mix(sail, pal.mid, 0.45),
                pal.accent,
                storm,
            )
            drawn = True
        _draw_row(water, row, spacing, trough, face, foam, 0.9 if storm else 0.5)
        if not storm:
            _glitter(water, rng, row, sun_x, 0.12 * w, mix(light, pal.warm, 0.2), w)
    water.composite(img)
    birds = Layer(h, w)
    _gulls(birds, rng, w, h, 0.35, scale(pal.dark, 1.1))
    birds.composite(img)
    return img


# --- coast --------------------------------------------------------------------------------------------------------


def _lighthouse(
    layer: Layer,
    x: float,
    base: float,
    height: float,
    body: np.ndarray,
    band: np.ndarray,
    dark: np.ndarray,
    lamp: np.ndarray,
) -> tuple[float, float]:
    """A striped tapering lighthouse; returns where its lamp is."""
    wb, wt = height * 0.2, height * 0.13
    top = base - height
    layer.poly([(x - wb / 2, base), (x - wt / 2, top), (x + wt / 2, top), (x + wb / 2, base)], body)
    for k in range(3):
        a, b = 0.12 + k * 0.3, 0.26 + k * 0.3
        wa, wbb = wb + (wt - wb) * a, wb + (wt - wb) * b
        ya, yb = base - height * a, base - height * b
        layer.poly([(x - wa / 2, ya), (x - wbb / 2, yb), (x + wbb / 2, yb), (x + wa / 2, ya)], band)
    layer.poly(
        [(x + wb * 0.1, base), (x + wt * 0.08, top), (x + wt / 2, top), (x + wb / 2, base)], scale(body, 0.78), 0.35
    )
    layer.rect(x - wt * 0.75, top - height * 0.025, x + wt * 0.75, top + height * 0.01, dark)
    lamp_y = top - height * 0.09
    layer.rect(x - wt * 0.42, top - height * 0.14, x + wt * 0.42, top - height * 0.025, lamp)
    layer.line([(x, top - height * 0.14), (x, top - height * 0.025)], dark, max(1.0, height * 0.012))
    layer.ellipse(x, top - height * 0.14, wt * 0.5, height * 0.07, dark, start=180, end=360)
    layer.line([(x, top - height * 0.2), (x, top - height * 0.25)], dark, max(1.0, height * 0.012))
    return x, lamp_y


def _cliff(
    img: np.ndarray,
    rng: np.random.Generator,
    outline: np.ndarray,
    face: np.ndarray,
    side: int,
    sunny: bool,
    tones: tuple[np.ndarray, np.ndarray],
    foot: float,
) -> None:
    """Paint a headland's rock inside `outline`: buttresses and gullies running down its front, layered strata,
    a seaward side face (`face`: its edge, top to foot) in sun or shade, and dark wet rock toward the foot.
    `side` is where the headland stands (-1 left, 1 right); `tones` its (lit, shadow) colours."""
    h, w = img.shape[:2]
    x0, x1 = int(max(0, np.floor(outline[:, 0].min()))), int(min(w, np.ceil(outline[:, 0].max()) + 1))
    y0, y1 = int(max(0, np.floor(outline[:, 1].min()))), h
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    k = 0.5 if min(x1 - x0, y1 - y0) > 32 else 1.0
    bw, bh = max(2, round((x1 - x0) * k)), max(2, round((y1 - y0) * k))
    gx = (x0 + (np.arange(bw, dtype=F32) + 0.5) * F32((x1 - x0) / bw))[None, :]
    gy = (y0 + (np.arange(bh, dtype=F32) + 0.5) * F32((y1 - y0) / bh))[:, None]
    edge = np.interp(gy[:, 0], face[:, 1], face[:, 0]).astype(F32)[:, None]
    dist = (gx - edge) * F32(side) / F32(w)  # into the headland from its seaward edge, in widths
    top = float(face[0, 1])
    f = np.clip((gy - top) / max(foot - top, 1.0), 0, 1)
    # Buttresses: columns of rock between jagged vertical cracks, each a plane tilted toward or away from the sun,
    # rounded across its width and stepped by ledges.
    n = 80
    breaks = np.concatenate([[-1.0], np.cumsum(0.01 + 0.045 * rng.random(n) ** 2)]).astype(F32)
    tilt = rng.uniform(-1, 1, n + 2).astype(F32)
    step = rng.uniform(0, 1, n + 2).astype(F32)
    pitch = rng.uniform(0.6, 1.5, n + 2).astype(F32)
    wob = (value_noise(rng, bh, bw, max(3.0, (x1 - x0) / (0.1 * w)), octaves=3, stretch=0.25) - 0.5) * F32(0.014)
    side_w = 0.02 + 0.035 * f
    dd = dist - side_w + wob
    idx = np.clip(np.searchsorted(breaks, dd), 1, n)
    lo, hi = breaks[idx - 1], breaks[idx]
    u = np.clip((dd - lo) / (hi - lo), 0, 1)
    sun = 1.0 if sunny else -1.0
    toward = F32(-side * sun)  # +1 when the sun is on the headland's inland side
    front = 0.4 + 0.22 * tilt[idx] + 0.2 * (u - 0.5) * toward + 0.1 * np.exp(-np.maximum(dist, 0) / 0.08)
    front -= 0.22 * smoothstep(0.12, 0.0, np.minimum(u, 1 - u))  # the cracks between buttresses
    period = F32(0.06 * h) * pitch[idx]
    t = np.mod((gy + step[idx] * period) / period, 1.0)
    ledges = smoothstep(0.4, 0.6, value_noise(rng, bh, bw, max(3.0, (x1 - x0) / (0.08 * w)), octaves=2))
    front += (0.13 * smoothstep(0.06, 0.0, t) - 0.12 * smoothstep(0.06, 0.1, t) * smoothstep(0.22, 0.1, t)) * ledges
    fine = value_noise(rng, bh, bw, max(4.0, (x1 - x0) / (0.01 * w)), octaves=2)
    on_side = 1 - smoothstep(-0.003, 0.003, dist - side_w)
    flank = (0.85 if sunny else 0.16) + 0.1 * (np.sin((gy / period) * F32(2 * np.pi)) > 0.85)
    light = front + (flank - front) * on_side
    light *= 0.82 + 0.36 * fine
    light *= 1 - 0.45 * smoothstep(0.75, 1.0, f)  # wet rock and spray shadow at the foot
    light = np.clip(light, 0, 1)[..., None]
    lit, shade = tones
    col = shade + (lit - shade) * light
    col = cv2.resize(col.astype(F32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.round((outline - (x0, y0)) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, cv2.LINE_AA, 4)
    tgt = img[y0:y1, x0:x1]
    tgt += (col - tgt) * (mask.astype(F32)[..., None] * F32(1 / 255))


def draw_coast(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A rocky headland with a lighthouse above a bay: surf breaking on a sandy beach, the sea to the horizon."""
    s = min(w, h)
    side = -1 if rng.random() < 0.5 else 1  # which side the cliff stands on
    horizon = rng.uniform(0.44, 0.5) * h
    light = pal.light
    dusk = rng.random() < 0.5
    top = mix(pal.deep, pal.cool, 0.5) if not dusk else mix(pal.dark, pal.accent, 0.35)
    low = mix(light, pal.warm, 0.3 if dusk else 0.12)
    img = _sky(h, w, top, low, horizon / h)
    sun_x = w * (0.5 - side * rng.uniform(0.1, 0.3))
    sun_y = horizon - rng.uniform(0.08, 0.2) * h
    glow(img, [(sun_x, sun_y, 0.3 * s, mix(pal.warm, light, 0.5), 0.75), (sun_x, sun_y, 0.9 * s, pal.warm, 0.3)])
    for _ in range(int(rng.integers(3, 6))):
        cw = rng.uniform(0.14, 0.3) * w
        bx, by = rng.uniform(0, w), rng.uniform(0.2, 0.8) * horizon
        blobs = cumulus_blobs(rng, bx, by, cw, cw * rng.uniform(0.25, 0.4))
        cloud_mass(
            img,
            rng,
            blobs,
            mix(pal.mid, low, 0.45),
            mix(pal.sunlight, pal.warm, 0.15),
            (sun_x - bx, sun_y - by),
            0.9,
            base=by,
            under=mix(pal.mid, top, 0.4),
        )
    sea = pal.tone((30, 96, 120), 0.4)
    _sea_base(img, horizon, scale(sea, 0.8), mix(sea, low, 0.55))
    glow(
        img,
        [
            (sun_x, horizon + (h - horizon) * f, (0.03 + 0.2 * f) * s, light, 0.4 - 0.25 * f)
            for f in np.linspace(0, 0.6, 5)
        ],
    )

    # Shoreline: the beach sweeps in from the open side and the surf runs along it.
    xs = np.arange(w, dtype=F32)
    u = xs / max(w - 1, 1) if side < 0 else 1 - xs / max(w - 1, 1)  # 0 at the cliff, 1 at the open side
    shore = h * (0.86 - 0.14 * u**1.3) + ridge(rng, w, 0, 0.008 * h, octaves=3)
    rows = _wave_rows(rng, w, h, horizon, float(shore.max()) + 0.02 * h, int(np.clip(h / 30, 8, 30)), 0.018)
    water = Layer(h, w)
    for i, row in enumerate(rows):
        spacing = rows[i + 1][0] - row[0] if i + 1 < len(rows) else row[0] - rows[i - 1][0]
        _draw_row(water, row, spacing, scale(sea, 0.5), mix(sea, light, 0.35), mix(light, sea, 0.1), 0.5)
    water.composite(img)

    foam = mix(light, sea, 0.08)
    surf = Layer(h, w)
    for k in range(4):
        off = (k + 0.5) * 0.022 * h * (1 + 0.3 * k)
        wob = ridge(rng, w, 0, 0.004 * h, octaves=3)
        pts = np.stack([xs, shore - off + wob], 1)[:: max(1, w // 300)]
        surf.line(pts, foam, max(1.0, (3.5 - k * 0.7) * s / 1080), 0.85 - 0.18 * k)
    surf.composite(img, blur=0.0015 * h)
    spray = Layer(h, w, 0.5)
    for _ in range(int(rng.integers(8, 16))):
        fx = rng.uniform(0, w)
        fy = float(np.interp(fx, xs, shore)) - rng.uniform(0.02, 0.05) * h
        spray.ellipse(fx, fy, rng.uniform(0.02, 0.06) * w, rng.uniform(0.004, 0.01) * h, foam, 0.45)
    spray.composite(img, blur=0.004 * h)

    sand = pal.tone((222, 192, 140), 0.35)
    wet = mix(sand, sea, 0.35)
    fill_below(img, shore, wet, scale(sand, 0.82), span=0.14 * h)
    edge = Layer(h, w)
    edge.line(np.stack([xs, shore + 0.004 * h], 1)[:: max(1, w // 300)], foam, max(1.0, 2.5 * s / 1080), 0.8)
    edge.composite(img, blur=0.001 * h)

    # The headland: a jagged cliff face with strata, grass on top, sea stacks at its foot.
    rock = mix(pal.tone((128, 104, 84), 0.4), pal.warm, 0.15)
    sunny = side * (sun_x - w / 2) > 0
    edge_x = w * (0.5 + side * rng.uniform(0.17, 0.24))
    cliff_top = rng.uniform(0.3, 0.37) * h
    foot_x = edge_x - side * rng.uniform(0.05, 0.08) * w
    foot = float(np.interp(foot_x, xs, shore)) + 0.03 * h
    outer = -0.02 * w if side < 0 else 1.02 * w
    n = 16
    f = np.linspace(0, 1, n)
    fy = cliff_top + (foot - cliff_top) * f
    fx = edge_x + (foot_x - edge_x) * f**1.6 + rng.normal(0, 0.006 * w, n) * np.sin(np.pi * f)
    tx = np.linspace(outer, edge_x, 12)
    top_y = cliff_top + ridge(rng, 12, 0, 0.01 * h, octaves=3) + np.linspace(-0.03 * h, 0, 12)
    top_y[-1] = cliff_top
    top_pts = np.stack([tx, top_y], 1)
    lit_rock = tone_to(mix(rock, light, 0.3), 165)
    shade_rock = tone_to(mix(rock, pal.dark, 0.45), 28)
    outline = np.concatenate([[[outer, h + 2]], top_pts, np.stack([fx, fy], 1), [[fx[-1], h + 2]]])
    face = np.concatenate([np.stack([fx, fy], 1), [[fx[-1], h + 2]]])
    _cliff(img, rng, outline, face, side, sunny, (lit_rock, shade_rock), foot)
    cliff = Layer(h, w)
    body = mix(lit_rock, shade_rock, 0.6)
    face_c = mix(lit_rock, shade_rock, 0.15) if sunny else mix(lit_rock, shade_rock, 0.8)
    cliff.line(top_pts + (0, 0.01 * h), scale(shade_rock, 0.7), max(1.5, 0.01 * h), 0.6)
    grass = pal.tone((96, 132, 74), 0.4)
    cliff.line(top_pts, grass, max(2.0, 0.012 * h))
    for _ in range(int(rng.integers(1, 3))):
        sx = foot_x - side * rng.uniform(0.04, 0.14) * w
        sy = float(np.interp(sx, xs, shore)) - rng.uniform(0.03, 0.06) * h
        sw, sh_ = rng.uniform(0.012, 0.025) * w, rng.uniform(0.07, 0.14) * h
        cliff.poly([(sx - sw, sy), (sx - sw * 0.7, sy - sh_), (sx + sw * 0.5, sy - sh_ * 0.9), (sx + sw, sy)], body)
        cliff.poly(
            [
                (sx - sw * 0.7 * side, sy - sh_ * (0.95 if side > 0 else 0.9)),
                (sx - sw * side, sy),
                (sx - sw * 0.2 * side, sy),
            ],
            face_c,
            0.9,
        )
        cliff.ellipse(sx, sy, sw * 1.8, 0.006 * h, foam, 0.8)
    lh_x = edge_x + side * rng.uniform(0.05, 0.09) * w
    base_y = float(np.interp(lh_x, tx[::-1] if side > 0 else tx, top_y[::-1] if side > 0 else top_y))
    lamp = mix(light, pal.warm, 0.4)
    house_w = 0.05 * s
    hx = lh_x + side * 0.07 * s
    cliff.rect(hx - house_w / 2, base_y - 0.04 * s, hx + house_w / 2, base_y + 0.01 * h, mix(light, rock, 0.25))
    cliff.poly(
        [(hx - house_w * 0.6, base_y - 0.04 * s), (hx, base_y - 0.07 * s), (hx + house_w * 0.6, base_y - 0.04 * s)],
        pal.tone((160, 60, 50), 0.4),
    )
    cliff.rect(hx - house_w * 0.15, base_y - 0.028 * s, hx + house_w * 0.1, base_y - 0.012 * s, lamp)
    lx, ly = _lighthouse(
        cliff,
        lh_x,
        base_y + 0.01 * h,
        rng.uniform(0.17, 0.22) * h,
        mix(light, rock, 0.08),
        pal.tone((196, 58, 48), 0.35),
        scale(pal.dark, 1.2),
        lamp,
    )
    beam = Layer(h, w, 0.25)
    reach = 0.9 * w
    ang = rng.uniform(-0.08, 0.05)
    for k, spread in ((1, 0.05), (-1, 0.035)):
        dx = -side * k * reach
        beam.poly(
            [(lx, ly), (lx + dx, ly + ang * reach - spread * reach), (lx + dx, ly + ang * reach + spread * reach)],
            lamp,
            0.4 if k > 0 else 0.2,
        )
    beam.composite(img, blur=0.01 * h, mode="screen")
    cliff.composite(img)
    glow(img, [(lx, ly, 0.02 * s, light, 1.0), (lx, ly, 0.08 * s, lamp, 0.6)], mode="add")
    birds = Layer(h, w)
    _gulls(birds, rng, w, h, 0.3, scale(pal.dark, 1.1))
    birds.composite(img)
    return img
