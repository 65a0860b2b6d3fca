"""info: explanatory pictures — an old map with a globe, and a clean data chart with a rising trend."""

from __future__ import annotations

import cv2
import numpy as np

from .base import (
    F32,
    Layer,
    Palette,
    bezier,
    glow,
    mix,
    scale,
    smoothstep,
    upscale,
    value_noise,
    vertical_gradient,
)


def _rounded(x0: float, y0: float, x1: float, y1: float, r: float, n: int = 6) -> np.ndarray:
    """A rounded rectangle as a polygon."""
    r = max(0.0, min(r, (x1 - x0) / 2, (y1 - y0) / 2))
    pts = []
    for cx, cy, a0 in (
        (x1 - r, y0 + r, -np.pi / 2),
        (x1 - r, y1 - r, 0.0),
        (x0 + r, y1 - r, np.pi / 2),
        (x0 + r, y0 + r, np.pi),
    ):
        for a in np.linspace(a0, a0 + np.pi / 2, n):
            pts.append((cx + r * np.cos(a), cy + r * np.sin(a)))
    return np.array(pts)


# --- maps ---------------------------------------------------------------------------------------------------------


def _compass(
    layer: Layer, x: float, y: float, r: float, dark: np.ndarray, light: np.ndarray, accent: np.ndarray
) -> None:
    """A compass rose: long cardinal points over short diagonals, each half light and half dark, in two rings."""
    u = r / 100
    layer.ellipse(x, y, r * 0.78, r * 0.78, dark, 0.8, thickness=max(1.0, 2.5 * u))
    layer.ellipse(x, y, r * 0.7, r * 0.7, dark, 0.6, thickness=max(1.0, 1.2 * u))
    for k, (length, width) in enumerate(((0.62, 0.1), (1.0, 0.14))):
        for j in range(4):
            a = j * np.pi / 2 + (np.pi / 4 if k == 0 else 0)
            tip = (x + np.cos(a) * r * length, y + np.sin(a) * r * length)
            l1 = (x + np.cos(a + np.pi / 2) * r * width, y + np.sin(a + np.pi / 2) * r * width)
            l2 = (x + np.cos(a - np.pi / 2) * r * width, y + np.sin(a - np.pi / 2) * r * width)
            layer.poly([tip, l1, (x, y)], light if j % 2 else dark)
            layer.poly([tip, l2, (x, y)], dark if j % 2 else light)
            layer.line([tip, l1, (x, y), l2, tip], dark, max(1.0, 1.2 * u), 0.8)
    layer.poly([(x, y - r * 1.0), (x - r * 0.14, y), (x, y - r * 0.25)], accent)
    layer.circle(x, y, r * 0.06, dark)


def _sphere_noise(rng: np.random.Generator, n: int = 16) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random plane waves for smooth noise on a sphere: directions × frequency, phases, amplitudes."""
    dirs = rng.normal(size=(n, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    freq = rng.uniform(2.0, 9.0, n)[:, None]
    return (dirs * freq).astype(F32), rng.uniform(0, 2 * np.pi, n).astype(F32), (1 / freq[:, 0]).astype(F32)


def _globe(
    img: np.ndarray,
    rng: np.random.Generator,
    cx: float,
    cy: float,
    r: float,
    ocean: np.ndarray,
    land: np.ndarray,
    line: np.ndarray,
    light: np.ndarray,
) -> None:
    """A globe: continents from smooth noise on the sphere, a graticule every 30°, shading and a highlight."""
    h, w = img.shape[:2]
    x0, x1 = int(max(0, cx - r - 1)), int(min(w, cx + r + 2))
    y0, y1 = int(max(0, cy - r - 1)), int(min(h, cy + r + 2))
    if x1 <= x0 or y1 <= y0:
        return
    bw, bh = x1 - x0, y1 - y0
    k = 2 if min(bw, bh) > 64 else 1  # shade at half size, edge at full size
    nx = ((np.arange(x0, x1, k, dtype=F32) + 0.5 * k - cx) / r)[None, :]
    ny = ((np.arange(y0, y1, k, dtype=F32) + 0.5 * k - cy) / r)[:, None]
    d2 = nx * nx + ny * ny
    nz = np.sqrt(np.clip(1 - d2, 0, 1))
    tilt, spin = np.deg2rad(23.5), rng.uniform(0, 2 * np.pi)
    # World coordinates: undo the axial tilt (about the view axis), then the spin (about the pole).
    ct, st = np.cos(tilt), np.sin(tilt)
    px, py = nx * ct + ny * st, -nx * st + ny * ct
    cs, ss = np.cos(spin), np.sin(spin)
    X, Z = px * cs + nz * ss, -px * ss + nz * cs
    Y = -py
    dirs, phase, amp = _sphere_noise(rng)
    f = np.zeros_like(d2)
    for k in range(len(phase)):
        f += amp[k] * np.sin(X * dirs[k, 0] + Y * dirs[k, 1] + Z * dirs[k, 2] + phase[k])
    thr = float(np.quantile(f[d2 < 1], 0.62)) if (d2 < 1).any() else 0.0
    f = (f - thr) / (amp.sum() * 0.5)
    is_land = smoothstep(-0.03, 0.03, f)
    col = ocean + (land - ocean) * is_land[..., None]
    coast = np.exp(-((f / 0.025) ** 2)) * 0.5
    lat = np.arcsin(np.clip(Y, -1, 1))
    lon = np.arctan2(X, Z)
    step = np.pi / 6
    px_per_rad = r / k * np.maximum(nz, 0.15)
    dlat = np.abs((lat + step / 2) % step - step / 2) * r / k
    dlon = np.abs((lon + step / 2) % step - step / 2) * np.cos(lat) * px_per_rad
    width = max(0.8, r * 0.006) / k
    grid = np.maximum(1 - smoothstep(0, width, dlat), 1 - smoothstep(0, width, dlon)) * 0.55
    col = col + (line - col) * np.maximum(grid, coast)[..., None]
    lam = np.clip(nx * -0.45 + ny * -0.5 + nz * 0.74, 0, 1)
    col = col * (0.35 + 0.75 * lam)[..., None]
    spec = np.exp(-((nx + 0.35) ** 2 + (ny + 0.4) ** 2) / 0.03) * 0.5
    col = col + (light - col) * spec[..., None]
    if k > 1:
        col = cv2.resize(col.astype(F32), (bw, bh), interpolation=cv2.INTER_LINEAR)
    fx = ((np.arange(x0, x1, dtype=F32) + 0.5 - cx) / r)[None, :]
    fy = ((np.arange(y0, y1, dtype=F32) + 0.5 - cy) / r)[:, None]
    a = np.clip((1 - np.sqrt(fx * fx + fy * fy)) * r + 0.5, 0, 1)[..., None]
    tgt = img[y0:y1, x0:x1]
    tgt += (col - tgt) * a


def draw_maps(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """An old chart — parchment, coastlines, a graticule, a dotted route and a compass rose — with a desk globe."""
    s = min(w, h)
    u = s / 1080
    paper = mix(mix(pal.sunlight, pal.tone((226, 204, 160), 0.25), 0.55), pal.light, 0.1)
    ink = mix(pal.dark, pal.tone((70, 50, 35), 0.3), 0.4)
    img = vertical_gradient(h, w, [(0, paper), (1, scale(paper, 0.92))])
    lh, lw = max(2, h // 4), max(2, w // 4)
    stains = value_noise(rng, lh, lw, 3, 5)
    img *= upscale((1 - 0.12 * smoothstep(0.45, 0.8, stains)).astype(F32), h, w)[..., None]

    # Land and sea from noise: a distance-to-coast field, computed small and scaled up, then crisp edges.
    nl = value_noise(rng, lh, lw, 2.5, 5)
    thr = float(np.quantile(nl, rng.uniform(0.5, 0.62)))
    gy, gx = np.gradient(nl)
    dist = upscale(((nl - thr) / (np.sqrt(gx * gx + gy * gy) + 1e-6) * F32(h / lh)).astype(F32), h, w)  # pixels
    land = smoothstep(-0.8, 0.8, dist)
    sea_c = mix(paper, pal.cool, 0.2) / np.maximum(paper, 1)
    land_c = mix(paper, pal.tone((150, 150, 90), 0.35), 0.22) / np.maximum(paper, 1)
    img *= sea_c + (land_c - sea_c) * land[..., None]
    ad = np.abs(dist)
    ink_a = np.maximum(
        1 - smoothstep(1.2 * u, 2.6 * u, ad), (1 - smoothstep(0, 1.5 * u, np.abs(dist + 9 * u))) * F32(0.35)
    )
    img += (ink - img) * ink_a[..., None]

    grid = Layer(h, w)
    m = 0.04 * s
    step = (w - 2 * m) / rng.integers(6, 10)
    gl = [np.array([(x, m), (x, h - m)]) for x in np.arange(m, w - m + 1, step)]
    gl += [np.array([(m, y), (w - m, y)]) for y in np.arange(m, h - m + 1, step)]
    grid.lines(gl, ink, max(1.0, 1.5 * u), 0.28)
    grid.line(np.array([(m, m), (w - m, m), (w - m, h - m), (m, h - m)]), ink, max(1.0, 4 * u), 0.7, closed=True)
    grid.line(
        np.array([(m * 0.6, m * 0.6), (w - m * 0.6, m * 0.6), (w - m * 0.6, h - m * 0.6), (m * 0.6, h - m * 0.6)]),
        ink,
        max(1.0, 1.5 * u),
        0.6,
        closed=True,
    )
    grid.composite(img)

    globe = rng.random() < 0.75
    gside = -1 if rng.random() < 0.5 else 1
    gr = rng.uniform(0.22, 0.27) * s
    gcx, gcy = w * 0.5 + gside * min(0.24 * w, 0.5 * w - gr - 0.06 * s), 0.45 * h
    # The route: a dashed curve between ports, over on the side away from the globe.
    route = Layer(h, w)
    red = pal.tone((186, 52, 40), 0.3)
    xa = (0.12, 0.55) if (globe and gside > 0) else ((0.45, 0.88) if globe else (0.12, 0.88))
    ports = [
        (w * rng.uniform(xa[0], xa[0] + 0.08), h * rng.uniform(0.55, 0.7)),
        (w * rng.uniform(*xa), h * rng.uniform(0.2, 0.6)),
        (w * rng.uniform(xa[1] - 0.08, xa[1]), h * rng.uniform(0.15, 0.35)),
    ]
    path = bezier([ports[0], (ports[1][0], ports[0][1] - 0.2 * h), ports[1]], 40)
    path = np.concatenate([path, bezier([ports[1], (ports[2][0], ports[1][1]), ports[2]], 40)[1:]])
    seglen = np.r_[0, np.cumsum(np.hypot(*np.diff(path, axis=0).T))]
    dash = 0.025 * s
    on = (seglen // dash) % 2 == 0
    pieces = np.split(path, np.flatnonzero(np.diff(on.astype(np.int8))) + 1)
    flags = np.split(on, np.flatnonzero(np.diff(on.astype(np.int8))) + 1)
    route.lines([p for p, f in zip(pieces, flags) if f[0]], red, max(1.5, 5 * u), 0.9)
    for px, py in ports[:-1]:
        route.circle(px, py, 9 * u, paper)
        route.ellipse(px, py, 9 * u, 9 * u, red, thickness=max(1.0, 3.5 * u))
    ex, ey = ports[-1]
    route.lines(
        [
            np.array([(ex - 12 * u, ey - 12 * u), (ex + 12 * u, ey + 12 * u)]),
            np.array([(ex - 12 * u, ey + 12 * u), (ex + 12 * u, ey - 12 * u)]),
        ],
        red,
        max(1.5, 6 * u),
    )
    cr = 0.09 * s
    cxr = w * 0.5 - gside * (0.5 * w - m - cr * 1.4) if globe else w - m - cr * 1.4
    _compass(route, cxr, m + cr * 1.4, cr, ink, paper, red)
    route.composite(img)

    lamp = mix(pal.sunlight, pal.warm, 0.25)
    glow(img, [(w * (0.5 - gside * 0.3), 0.1 * h, 0.7 * s, lamp, 0.25)])
    if globe:
        stand = mix(pal.tone((110, 76, 48), 0.3), pal.dark, 0.3)
        brass = mix(pal.tone((200, 160, 80), 0.3), pal.sunlight, 0.2)
        sh = Layer(h, w, 0.5)
        sh.ellipse(gcx + 0.1 * gr, gcy + gr * 1.52, gr * 1.1, gr * 0.16, scale(pal.dark, 0.5), 0.45)
        sh.composite(img, blur=0.02 * s)
        base = Layer(h, w)
        base.poly(
            [
                (gcx - gr * 0.1, gcy + gr * 1.05),
                (gcx - gr * 0.16, gcy + gr * 1.4),
                (gcx + gr * 0.16, gcy + gr * 1.4),
                (gcx + gr * 0.1, gcy + gr * 1.05),
            ],
            stand,
        )
        base.ellipse(gcx, gcy + gr * 1.45, gr * 0.6, gr * 0.12, stand)
        base.ellipse(gcx, gcy + gr * 1.42, gr * 0.6, gr * 0.1, mix(stand, brass, 0.3))
        base.ellipse(gcx, gcy, gr * 1.12, gr * 1.12, brass, angle=23.5, start=-30, end=210, thickness=0.035 * gr)
        base.composite(img)
        ocean = mix(pal.tone((58, 110, 150), 0.35), paper, 0.25)
        land_g = mix(pal.tone((196, 170, 110), 0.3), paper, 0.3)
        _globe(img, rng, gcx, gcy, gr, ocean, land_g, mix(ink, paper, 0.2), pal.sunlight)
        ring = Layer(h, w)
        ring.ellipse(gcx, gcy, gr * 1.12, gr * 1.12, brass, angle=23.5, start=210, end=330, thickness=0.035 * gr)
        ring.circle(
            gcx + np.sin(np.deg2rad(23.5)) * gr * 1.12, gcy - np.cos(np.deg2rad(23.5)) * gr * 1.12, 0.04 * gr, brass
        )
        ring.composite(img)
        glow(img, [(gcx - gr * 0.35, gcy - gr * 0.4, gr * 0.5, pal.sunlight, 0.15)], mode="add")
    burn = mix(ink, paper, 0.4)
    ny = ((np.arange(lh, dtype=F32) + 0.5) / lh * 2 - 1)[:, None]
    nx = ((np.arange(lw, dtype=F32) + 0.5) / lw * 2 - 1)[None, :]
    edge = smoothstep(0.75, 1.0, np.maximum(np.abs(nx), np.abs(ny)) + 0.08 * (stains - 0.5))
    img += (burn - img) * (upscale(edge.astype(F32), h, w) * 0.5)[..., None]
    return img


# --- charts -------------------------------------------------------------------------------------------------------


def _card(
    layer: Layer, shadow: Layer, box: tuple[float, float, float, float], r: float, fill: np.ndarray, dark: np.ndarray
) -> None:
    """A rounded card with a soft drop shadow."""
    x0, y0, x1, y1 = box
    shadow.poly(_rounded(x0 + r * 0.2, y0 + r * 0.6, x1 + r * 0.2, y1 + r * 0.6, r), dark, 0.3)
    layer.poly(_rounded(x0, y0, x1, y1, r), fill)


def _gridlines(layer, box, ax: float, ay: float, top: float, count: int, grid, label, u: float) -> None:
    """A chart's `count` horizontal gridlines from the axis `ay` up to `top`, each with a label stub."""
    x0, _, x1, _ = box
    for k in range(count):
        gy = ay - (ay - top) * (k + 1) / count
        layer.line([(ax, gy), (x1, gy)], grid, max(1.0, 2 * u), 0.8)
        _pills(layer, np.array([ax - 0.045 * (x1 - x0)]), gy, 0.05 * (x1 - x0), 9 * u, label)


def _pills(
    layer: Layer, xs: np.ndarray, y: float, width: float, height: float, color: np.ndarray, alpha: float = 1.0
) -> None:
    """Placeholder labels: short rounded bars centred on xs."""
    layer.polys(
        [_rounded(x - width / 2, y - height / 2, x + width / 2, y + height / 2, height / 2, 4) for x in xs],
        color,
        alpha,
    )


def _bars(
    layer: Layer,
    rng: np.random.Generator,
    box: tuple[float, float, float, float],
    colors: list[np.ndarray],
    axis: np.ndarray,
    grid: np.ndarray,
    label: np.ndarray,
    u: float,
) -> np.ndarray:
    """A bar chart with gridlines, axes, ticks and label stubs; values rise. Returns the bar tops (x, y)."""
    x0, y0, x1, y1 = box
    n = int(rng.integers(5, 9))
    vals = np.clip(np.linspace(0.28, 0.92, n) + rng.normal(0, 0.07, n), 0.12, 1.0)
    vals[-1] = max(vals[-1], vals.max())
    ax, ay = x0 + 0.1 * (x1 - x0), y1 - 0.1 * (y1 - y0)
    top = y0 + 0.05 * (y1 - y0)
    _gridlines(layer, box, ax, ay, top, 5, grid, label, u)
    slot = (x1 - ax) / n
    bw = slot * rng.uniform(0.5, 0.68)
    tops = []
    for i, v in enumerate(vals):
        cx = ax + slot * (i + 0.5)
        by = ay - (ay - top) * v
        c = colors[min(i * len(colors) // n, len(colors) - 1)] if i < n - 1 else colors[-1]
        layer.poly(_rounded(cx - bw / 2, by, cx + bw / 2, ay + bw * 0.2, bw * 0.18), c)
        layer.poly(
            np.array(
                [(cx - bw / 2, by + bw * 0.18), (cx - bw * 0.3, by + bw * 0.18), (cx - bw * 0.3, ay), (cx - bw / 2, ay)]
            ),
            mix(c, np.full(3, 255, F32), 0.25),
            0.5,
        )
        tops.append((cx, by))
    layer.rect(ax - 2 * u, ay, x1, y1, np.zeros(3, F32), 0.0)  # clear below the axis: squares off the bars' feet
    layer.line([(ax, top), (ax, ay), (x1, ay)], axis, max(1.5, 3 * u))
    _pills(layer, ax + slot * (np.arange(n) + 0.5), ay + 0.05 * (y1 - y0), bw * 0.8, 9 * u, label)
    return np.array(tops)


def _trend(
    layer: Layer,
    rng: np.random.Generator,
    box: tuple[float, float, float, float],
    color: np.ndarray,
    fill: np.ndarray,
    axis: np.ndarray,
    grid: np.ndarray,
    label: np.ndarray,
    u: float,
    area: bool = True,
) -> None:
    """A rising line chart: gridlines, shaded area, thick line with ringed markers and an arrow at the end."""
    x0, y0, x1, y1 = box
    ax, ay = x0 + 0.1 * (x1 - x0), y1 - 0.1 * (y1 - y0)
    top = y0 + 0.08 * (y1 - y0)
    _gridlines(layer, box, ax, ay, top, 4, grid, label, u)
    n = int(rng.integers(6, 10))
    vals = np.clip(np.cumsum(rng.uniform(0.02, 0.16, n)) + rng.normal(0, 0.05, n), 0.05, None)
    vals = 0.12 + 0.8 * (vals - vals.min()) / max(vals.max() - vals.min(), 1e-6)
    xs = ax + (x1 - ax) * (np.arange(n) + 0.5) / n
    ys = ay - (ay - top) * vals
    pts = np.stack([xs, ys], 1)
    smooth = []
    for i in range(n - 1):
        p0, p1 = pts[max(i - 1, 0)], pts[i]
        p2, p3 = pts[i + 1], pts[min(i + 2, n - 1)]
        c1, c2 = p1 + (p2 - p0) / 6, p2 - (p3 - p1) / 6
        smooth.append(bezier([p1, c1, c2, p2], 12)[:-1])
    curve = np.concatenate([*smooth, pts[-1:]])
    if area:
        layer.poly(np.concatenate([curve, [(xs[-1], ay), (xs[0], ay)]]), fill, 0.35)
    layer.line([(ax, top), (ax, ay), (x1, ay)], axis, max(1.5, 3 * u))
    layer.line(curve, color, max(2.0, 7 * u))
    for x, y in pts:
        layer.circle(x, y, 9 * u, np.full(3, 255, F32))
        layer.ellipse(x, y, 9 * u, 9 * u, color, thickness=max(1.0, 4 * u))
    d = pts[-1] - pts[-2]
    d = d / max(np.hypot(*d), 1e-6)
    tip = pts[-1] + d * 34 * u
    nrm = np.array([-d[1], d[0]])
    layer.poly([tip + d * 10 * u, tip - d * 14 * u + nrm * 14 * u, tip - d * 14 * u - nrm * 14 * u], color)
    layer.line([pts[-1], tip], color, max(2.0, 7 * u))
    _pills(layer, xs, ay + 0.05 * (y1 - y0), (x1 - ax) / n * 0.5, 9 * u, label)


def _donut(layer: Layer, rng: np.random.Generator, cx: float, cy: float, r: float, colors: list[np.ndarray]) -> None:
    """A donut chart of three to five shares."""
    shares = rng.uniform(0.5, 1.5, int(rng.integers(3, 6)))
    ends = np.cumsum(shares) / shares.sum() * 360 - 90
    start = -90.0
    for i, end in enumerate(ends):
        layer.ellipse(cx, cy, r, r, colors[i % len(colors)], start=start + 1.2, end=end - 1.2, thickness=r * 0.38)
        start = end


def draw_charts(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A clean dashboard: bar and line charts with axes and gridlines on cards, trending upward."""
    s = min(w, h)
    u = s / 1080
    white = np.full(3, 255, F32)
    bg = mix(mix(pal.sunlight, pal.light, 0.3), pal.mid, 0.08)
    img = vertical_gradient(h, w, [(0, bg), (1, scale(bg, 0.88))])
    glow(
        img,
        [(w * rng.uniform(0.1, 0.9), 0.05 * h, 0.8 * s, white, 0.35), (w * 0.5, 0.5 * h, 0.7 * s, pal.accent, 0.08)],
    )
    deco = Layer(h, w, 0.5)
    for _ in range(int(rng.integers(2, 4))):
        deco.circle(rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.1, 0.3) * s, pal.accent, 0.06)
    deco.composite(img, blur=0.02 * s)

    ink = mix(pal.dark, bg, 0.15)
    grid = mix(bg, ink, 0.15)
    label = mix(bg, ink, 0.28)
    card_c = mix(white, bg, 0.25)
    colors = [c for c in pal.mids if np.linalg.norm(c - bg) > 60] or [pal.accent]
    colors = sorted(colors, key=lambda c: -np.linalg.norm(c - bg))[:3]
    colors = (
        [mix(colors[-1], bg, 0.35), *colors[::-1][1:], pal.accent]
        if len(colors) > 1
        else [mix(pal.accent, bg, 0.4), pal.accent]
    )
    line_c = mix(pal.dark, pal.accent, 0.35) if np.linalg.norm(pal.accent - bg) < 80 else pal.accent
    shadow, cards, marks = Layer(h, w, 0.5), Layer(h, w), Layer(h, w)
    m = 0.08 * s
    top, bottom = 0.1 * h, 0.8 * h
    layout = int(rng.integers(0, 3))
    portrait = h > w * 1.2
    rad = 0.025 * s

    def header(x0: float, y0: float, x1: float) -> float:
        _pills(marks, np.array([x0 + 0.16 * (x1 - x0)]), y0 + 0.05 * s, 0.26 * (x1 - x0), 0.028 * s, ink, 0.85)
        _pills(marks, np.array([x0 + 0.11 * (x1 - x0)]), y0 + 0.09 * s, 0.16 * (x1 - x0), 0.016 * s, label)
        return y0 + 0.12 * s

    if layout == 0:  # one big card: bars with the trend line over them
        box = (m, top, w - m, bottom)
        _card(cards, shadow, box, rad, card_c, pal.dark)
        y = header(box[0], box[1], box[2])
        tops = _bars(
            marks, rng, (box[0] + 0.03 * s, y, box[2] - 0.04 * s, box[3] - 0.02 * s), colors, ink, grid, label, u
        )
        line = tops - (0, 0.04 * s)
        marks.line(line, line_c, max(2.0, 6 * u))
        for x, yy in line:
            marks.circle(x, yy, 8 * u, white)
            marks.ellipse(x, yy, 8 * u, 8 * u, line_c, thickness=max(1.0, 4 * u))
    else:
        if portrait:
            a = (m, top, w - m, top + (bottom - top) * 0.48)
            b = (m, top + (bottom - top) * 0.52, w - m, bottom)
        else:
            split = 0.5 if layout == 1 else 0.64
            a = (m, top, m + (w - 2 * m) * split - 0.015 * w, bottom)
            b = (m + (w - 2 * m) * split + 0.015 * w, top, w - m, bottom)
        for box in (a, b):
            _card(cards, shadow, box, rad, card_c, pal.dark)
        ya = header(a[0], a[1], a[2])
        yb = header(b[0], b[1], b[2])
        if layout == 1:
            _bars(marks, rng, (a[0] + 0.03 * s, ya, a[2] - 0.03 * s, a[3] - 0.02 * s), colors, ink, grid, label, u)
            _trend(
                marks,
                rng,
                (b[0] + 0.03 * s, yb, b[2] - 0.04 * s, b[3] - 0.02 * s),
                line_c,
                colors[0],
                ink,
                grid,
                label,
                u,
            )
        else:
            _trend(
                marks,
                rng,
                (a[0] + 0.03 * s, ya, a[2] - 0.04 * s, a[3] - 0.02 * s),
                line_c,
                colors[0],
                ink,
                grid,
                label,
                u,
            )
            r = min(b[2] - b[0], b[3] - yb) * 0.3
            dcx, dcy = (b[0] + b[2]) / 2, yb + (b[3] - yb) * 0.42
            _donut(marks, rng, dcx, dcy, r, [*colors[::-1], line_c])
            _pills(marks, np.array([dcx]), dcy, r * 0.7, 0.03 * s, ink, 0.85)
            for k in range(3):
                ly = dcy + r * 1.35 + k * 0.035 * s
                if ly < b[3] - 0.02 * s:
                    marks.circle(b[0] + 0.06 * (b[2] - b[0]) + 0.02 * s, ly, 7 * u, colors[k % len(colors)])
                    _pills(marks, np.array([b[0] + 0.3 * (b[2] - b[0])]), ly, 0.3 * (b[2] - b[0]), 9 * u, label)
    shadow.composite(img, blur=0.018 * s)
    cards.composite(img)
    marks.composite(img)
    return img


__all__ = ["draw_charts", "draw_maps"]
