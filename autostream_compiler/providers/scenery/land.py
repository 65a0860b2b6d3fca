"""land: landscapes drawn from layered profiles — mountains, forest, desert dunes and an erupting volcano."""

from __future__ import annotations

import cv2
import numpy as np

from .base import (
    F32,
    Layer,
    Palette,
    bezier,
    cirrus,
    cloud_mass,
    fill_below,
    glow,
    mist,
    mix,
    profile_mask,
    ridge,
    scale,
    smoothstep,
    tone_to,
    upscale,
    value_noise,
    vertical_gradient,
)


def _sky(h: int, w: int, top: np.ndarray, low: np.ndarray, horizon: float = 0.75, ease: float = 1.4) -> np.ndarray:
    """A sky graded from `top` to `low`, eased so the light gathers near the horizon."""
    stops = [(p, mix(top, low, min(p / horizon, 1.0) ** ease)) for p in np.linspace(0, 1, 11)]
    return vertical_gradient(h, w, stops)


def _sun(img: np.ndarray, x: float, y: float, r: float, color: np.ndarray, edge: float = 1.5) -> None:
    """A crisp sun or moon disc with a slightly soft rim."""
    h, w = img.shape[:2]
    disc = Layer(h, w)
    disc.circle(x, y, r, color)
    disc.composite(img, blur=edge)


# --- mountains ----------------------------------------------------------------------------------------------------


def _skyline(rng: np.random.Generator, knots: list[tuple[float, float]], levels: int, rough: float) -> np.ndarray:
    """A jagged ridgeline through (x, y) knots: midpoint displacement in y, level by level, as (N, 2) points."""
    pts = np.asarray(knots, np.float64)
    for level in range(levels):
        d = np.diff(pts, axis=0)
        mid = (pts[1:] + pts[:-1]) / 2
        mid[:, 1] += rng.normal(0, rough * (0.7**level), len(d)) * np.abs(d[:, 0])
        mid[:, 0] += rng.uniform(-0.15, 0.15, len(d)) * d[:, 0]
        out = np.empty((2 * len(pts) - 1, 2))
        out[0::2], out[1::2] = pts, mid
        pts = out
    return pts


def _fan_ribs(
    rng: np.random.Generator, gx: np.ndarray, gy: np.ndarray, x: float, summit: float, height: float, bw: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ribs and gullies fanning down a slope from a summit at (x, summit): ridged noise sampled in fan
    coordinates (about constant along each line down from the summit). Returns the ribs (crests near 1) and
    their sideways slope, which shades them as if lit from one side. gx, gy: the sample grid (1×W, H×1)."""
    bh = gy.shape[0]
    dy = np.maximum(gy - summit, 0) + F32(0.05 * height)
    warp = value_noise(rng, bh, bw, 3, octaves=2) - 0.5
    u = (gx - F32(x)) / dy + warp * F32(0.5)
    tex_w, tex_h = 384, 48
    ribs = value_noise(rng, tex_h, tex_w, 40, octaves=3, gain=0.55, stretch=0.08)
    ribs = 1 - np.abs(ribs * 2 - 1) * 2  # ridged: sharp crests between gullies
    map_x = ((np.clip(u, -2.5, 2.5) + 2.5) / 5 * (tex_w - 1)).astype(F32)
    map_y = np.broadcast_to(np.clip((gy - summit) / F32(height * 1.2), 0, 1) * (tex_h - 1), map_x.shape).astype(F32)
    r = cv2.remap(ribs.astype(F32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return r, np.gradient(r, axis=1) * F32(bw / 30)


def _peak(
    img: np.ndarray,
    rng: np.random.Generator,
    x: float,
    summit: float,
    half: tuple[float, float],
    foot: float,
    sun_side: float,
    rock: tuple[np.ndarray, np.ndarray],
    snow: tuple[np.ndarray, np.ndarray],
    haze: np.ndarray,
    snowline: float,
    fade: float,
) -> None:
    """Paint one peak standing on row `foot`: a jagged skyline, a sunlit and a shaded face meeting on a slanted
    arête, both carved into ribs and gullies fanning down from the summit (ridged noise in fan coordinates, lit
    by its slope), snow above `snowline` (a fraction of the height, deeper in the gullies), haze at the foot."""
    h, w = img.shape[:2]
    height = foot - summit
    left, right = x - half[0], x + half[1]
    shoulder_l = (x - half[0] * rng.uniform(0.35, 0.6), summit + height * rng.uniform(0.25, 0.5))
    shoulder_r = (x + half[1] * rng.uniform(0.35, 0.6), summit + height * rng.uniform(0.25, 0.5))
    knots = [(left, foot + 0.02 * h), shoulder_l, (x, summit), shoulder_r, (right, foot + 0.02 * h)]
    line = _skyline(rng, knots, 6, 0.16)
    x0, x1 = int(max(0, np.floor(left))), int(min(w, np.ceil(right) + 1))
    y_top, y_bot = int(max(0, np.floor(line[:, 1].min()) - 2)), int(min(h, foot + 0.025 * h))
    if x1 - x0 < 2 or y_bot - y_top < 2:
        return
    cols = np.arange(x0, x1, dtype=F32)
    profile = np.interp(cols, line[:, 0], line[:, 1]).astype(F32)
    k = 0.5 if min(x1 - x0, y_bot - y_top) > 16 else 1.0
    bw, bh = max(2, round((x1 - x0) * k)), max(2, round((y_bot - y_top) * k))
    gx = (x0 + (np.arange(bw, dtype=F32) + 0.5) * F32((x1 - x0) / bw))[None, :]
    gy = (y_top + (np.arange(bh, dtype=F32) + 0.5) * F32((y_bot - y_top) / bh))[:, None]
    r, relief = _fan_ribs(rng, gx, gy, x, summit, height, bw)
    crag = value_noise(rng, bh, bw, max(4.0, bw / 10), octaves=3)
    slant = rng.uniform(-0.4, 0.4)
    side = np.tanh((gx - F32(x) - F32(slant) * (gy - summit)) / F32(0.01 * w + 1))
    nx = side * 0.6 + np.clip(relief, -1.2, 1.2) * 0.55 + (crag - 0.5) * 0.6
    lam = np.clip(nx * 0.8 * sun_side + 0.25, 0, 1)
    lam = 0.35 * lam + 0.65 * smoothstep(0.25, 0.45, lam)  # crisp light and shade, as on rock
    frac = np.clip((F32(foot) - gy) / F32(height), 0, 1)  # 1 at the summit, 0 at the foot
    col = rock[1] + (rock[0] - rock[1]) * lam[..., None]
    lying = smoothstep(snowline - 0.04, snowline + 0.04, frac + 0.28 * (0.3 - r) + 0.1 * (crag - 0.5))
    col += (snow[1] + (snow[0] - snow[1]) * lam[..., None] - col) * lying[..., None]
    col += (haze - col) * (F32(fade) + (1 - F32(fade)) * 0.85 * smoothstep(0.4, 0.0, frac))[..., None]
    col = cv2.resize(col.astype(F32), (x1 - x0, y_bot - y_top), interpolation=cv2.INTER_LINEAR)
    mask = np.zeros((y_bot - y_top, x1 - x0), np.uint8)
    edge = np.stack([cols - x0, profile - y_top], 1)
    rim = [
        [x1 - x0 + 1, profile[-1] - y_top],
        [x1 - x0 + 1, y_bot - y_top + 2],
        [-1, y_bot - y_top + 2],
        [-1, profile[0] - y_top],
    ]
    cv2.fillPoly(mask, [np.round(np.concatenate([edge, rim]) * 16).astype(np.int32)], 255, cv2.LINE_AA, 4)
    tgt = img[y_top:y_bot, x0:x1]
    tgt += (col - tgt) * (mask.astype(F32)[..., None] * F32(1 / 255))


def draw_mountains(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """A snow-capped massif above a misty valley: sunlit faces and shaded ones carved into ribs and gullies,
    hazy ranges behind, dark wooded ridges in front."""
    s = min(w, h)
    dark, light = pal.dark, pal.light
    sky_top = tone_to(mix(mix(pal.deep, pal.dark, 0.45), pal.cool, 0.25), 55)
    sky_low = tone_to(mix(mix(pal.mid, light, 0.55), pal.warm, 0.12), 150)
    img = _sky(h, w, sky_top, sky_low, horizon=0.7, ease=1.2)
    sun_side = 1.0 if rng.random() < 0.5 else -1.0
    sun_x, sun_y = w * (0.5 + sun_side * rng.uniform(0.25, 0.4)), rng.uniform(0.1, 0.22) * h
    glow(img, [(sun_x, sun_y, 0.25 * s, mix(light, pal.warm, 0.3), 0.6)])
    glow(img, [(sun_x, sun_y, 0.7 * s, light, 0.25)], falloff="halo")
    _sun(img, sun_x, sun_y, 0.035 * s, mix(pal.sunlight, light, 0.5), edge=0.003 * s)
    cirrus(img, rng, 0.0, 0.35 * h, mix(light, pal.warm, 0.15), 0.45, 0.4, rng.uniform(-0.3, 0.3))

    haze = mix(sky_low, light, 0.25)
    base_y = rng.uniform(0.5, 0.54) * h
    span = min(h, 0.5625 * w)  # keep slopes the same in portrait pictures
    # A far range, pale with distance, then the massif.
    far = base_y - 0.05 * h + ridge(rng, w, 0, 0.07, sharp=0.4) * span
    fill_below(img, far, mix(haze, sky_top, 0.25), mix(haze, sky_top, 0.1), span=0.2 * h, relative=False)
    main_x = rng.uniform(0.3, 0.7) * w
    rock_lit = mix(mix(pal.tone((150, 128, 112), 0.3), pal.warm, 0.2), light, 0.05)
    rock_shade = mix(mix(dark, pal.deep, 0.6), pal.cool, 0.25)
    snow_lit = mix(pal.sunlight, np.full(3, 255, F32), 0.3)
    snow_shade = mix(mix(pal.cool, light, 0.5), pal.deep, 0.2)
    peaks = []
    for _ in range(int(rng.integers(1, 3))):  # lesser peaks behind, to either side
        px = main_x + rng.choice([-1, 1]) * rng.uniform(0.25, 0.45) * w
        peaks.append((px, rng.uniform(0.04, 0.1) * h, rng.uniform(0.2, 0.3) * w, 0.3))
    peaks.append((main_x, rng.uniform(0.05, 0.12) * h, rng.uniform(0.3, 0.42) * w, 0.06))
    for px, ph, hw, fade in peaks:
        tall = min((base_y - ph) * (1.0 if fade < 0.2 else 0.8), 1.2 * hw)  # not a needle in a tall picture
        _peak(
            img,
            rng,
            px,
            base_y - tall,
            (hw * rng.uniform(0.8, 1.2), hw * rng.uniform(0.8, 1.2)),
            base_y,
            sun_side,
            (rock_lit, rock_shade),
            (snow_lit, snow_shade),
            haze,
            rng.uniform(0.4, 0.6),
            fade,
        )
    mist(img, rng, base_y + 0.015 * h, 0.03 * h, haze, strength=0.6, streaks=0.5)
    # A wooded shore, then a still lake mirroring the massif, calm down to the bottom edge.
    shore = int(round(rng.uniform(0.6, 0.64) * h))
    prof = shore - 0.02 * h + ridge(rng, w, 0, 0.025, octaves=5) * span
    wood = mix(mix(dark, pal.deep, 0.5), haze, 0.2)
    fill_below(img, prof, wood, scale(wood, 0.85), span=0.1 * h, relative=False)
    trees = Layer(h, w)
    x = rng.uniform(0, 0.01) * w
    while x < w:
        th = 0.035 * h * rng.uniform(0.6, 1.4)
        gy = prof[int(np.clip(x, 0, w - 1))] + 0.004 * h
        trees.poly([(x - th * 0.28, gy), (x, gy - th), (x + th * 0.28, gy)], scale(wood, rng.uniform(0.85, 1.1)))
        x += th * rng.uniform(0.2, 0.6)
    trees.composite(img)
    if shore < h:
        src = np.clip(2 * shore - 1 - np.arange(shore, h), 0, h - 1)
        refl = cv2.GaussianBlur(img[src], (0, 0), sigmaX=max(0.5, 0.003 * w), sigmaY=max(0.5, 0.014 * h))
        water = tone_to(mix(pal.deep, sky_top, 0.5), 60)
        t = np.linspace(0.25, 0.6, h - shore, dtype=F32)[:, None, None]
        img[shore:] = refl * (1 - t) + water * t
        ripples = Layer(h, w)
        for _ in range(int(30 * w / 1920) + 6):
            yy = shore + (h - shore) * rng.uniform(0.02, 1) ** 1.5
            xx, ln = rng.uniform(0, w), rng.uniform(0.02, 0.08) * w
            ripples.line([(xx, yy), (xx + ln, yy)], mix(haze, light, 0.5), max(1.0, 1.5 * s / 1080), 0.25)
        ripples.line(
            [(0, shore + 0.002 * h), (w, shore + 0.002 * h)], mix(haze, light, 0.4), max(1.0, 2 * s / 1080), 0.5
        )
        ripples.composite(img)
    return img


# --- forest -------------------------------------------------------------------------------------------------------


def _conifer(rng: np.random.Generator, x: float, base: float, height: float, width: float) -> np.ndarray:
    """A fir tree silhouette: jagged tiers widening downward on a short trunk."""
    tiers = int(rng.integers(5, 9))
    top = base - height
    crown = height * 0.9
    side = []
    for i in range(tiers):
        t = (i + 1) / tiers
        yt = top + crown * t
        wt = width / 2 * (0.2 + 0.8 * t**0.9) * rng.uniform(0.85, 1.12)
        side.append((wt, yt + height * 0.012))
        if i < tiers - 1:
            side.append((wt * rng.uniform(0.35, 0.55), yt - crown / tiers * 0.1))
    side = np.array(side)
    trunk = width * 0.06
    right = [(x + dx, y) for dx, y in side] + [(x + trunk, top + crown), (x + trunk, base + 2)]
    jitter = rng.uniform(-0.06, 0.06, len(side)) * width / 2
    left = [(x - trunk, base + 2), (x - trunk, top + crown)] + [
        (x - dx - j, y) for (dx, y), j in zip(side[::-1], jitter)
    ]
    return np.array([(x, top), *right, *left])


def draw_forest(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Rows of conifers receding into morning mist, with light shafts falling through from a high sun."""
    light = pal.light
    sky_top = mix(mix(pal.cool, pal.deep, 0.3), light, 0.3)
    haze = mix(light, pal.warm, 0.18)
    img = _sky(h, w, sky_top, haze, horizon=0.6, ease=0.9)
    sun_x, sun_y = rng.uniform(0.25, 0.75) * w, rng.uniform(0.08, 0.22) * h
    glow(img, [(sun_x, sun_y, 0.35 * h, mix(light, pal.warm, 0.3), 0.8), (sun_x, sun_y, 0.08 * h, light, 1.0)])
    glow(img, [(sun_x, sun_y, 0.7 * h, light, 0.3)], falloff="halo")

    green = mix(pal.tone((28, 62, 44), 0.45), pal.dark, 0.35)
    rows = int(rng.integers(4, 6))
    shafts_after = rows - 2
    for k in range(rows):
        depth = k / (rows - 1)
        base_y = h * (0.47 + 0.36 * depth**1.1)
        ground = ridge(rng, w, base_y, 0.012 * h * (1 + depth), octaves=3)
        tree_h = h * (0.1 + 0.34 * depth**1.3)
        color = mix(green, haze, 0.78 * (1 - depth) ** 1.2)
        layer = Layer(h, w, 0.5 if depth < 0.5 else 1.0)
        edge = np.stack([np.arange(w), ground], 1)[:: max(1, w // 400)]
        layer.poly(np.concatenate([edge, [[w + 2, ground[-1]], [w + 2, h + 2], [-2, h + 2]]]), color)
        x = rng.uniform(-0.05, 0.02) * w
        trees = []
        while x < w * 1.05:
            th = tree_h * rng.uniform(0.65, 1.25)
            tw = th * rng.uniform(0.3, 0.42)
            gx = int(np.clip(x, 0, w - 1))
            trees.append(_conifer(rng, x, ground[gx] + 0.01 * h * depth, th, tw))
            x += tw * rng.uniform(0.35, 0.8)
        for tree in trees:
            layer.poly(tree, scale(color, rng.uniform(0.93, 1.05)))
        layer.composite(img, blur=0.6 * (1 - depth) ** 2 * h / 200)
        if k < rows - 1:
            mist(img, rng, base_y + 0.01 * h, 0.03 * h * (1 + depth), haze, strength=0.55 - 0.2 * depth)
        if k == shafts_after:
            shafts = Layer(h, w, 0.25)
            for _ in range(int(rng.integers(5, 9))):
                ang = rng.uniform(-0.55, 0.55)
                spread = rng.uniform(0.02, 0.06)
                ln = 1.4 * h
                a, b = ang - spread, ang + spread
                tri = [
                    (sun_x, sun_y),
                    (sun_x + np.sin(a) * ln, sun_y + np.cos(a) * ln),
                    (sun_x + np.sin(b) * ln, sun_y + np.cos(b) * ln),
                ]
                shafts.poly(tri, mix(light, pal.warm, 0.2), rng.uniform(0.25, 0.5))
            shafts.composite(img, blur=0.012 * h, mode="screen")
    return img


# --- desert -------------------------------------------------------------------------------------------------------


def _dune_field(
    rng: np.random.Generator,
    img: np.ndarray,
    horizon: float,
    from_left: bool,
    lit: np.ndarray,
    shade: np.ndarray,
    haze: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Render a dune height field in perspective, lit from the sun's side (a y-buffer over dense depth slices).

    Each dune has a long windward ramp and a steep lee face that falls into shade, so crests read as crisp
    curved lines. Returns the visible top row per slice and column (far → near), slice depths and the focal length.
    """
    h, w = img.shape[:2]
    focal = 0.62 * max(w, 1.1 * h)
    cam_h = 1.6
    # The nearest slice must stay below the frame even under the tallest crest (height up to about 0.72).
    y_near, y_far = horizon + (1.03 * h - horizon) * cam_h / (cam_h - 0.72), horizon + max(0.008 * h, 1.0)
    n = int(np.clip(1.5 * (y_near - y_far), 24, 2400))
    tt = np.linspace(0, 1, n, dtype=F32) ** 1.6
    depth = cam_h * focal / (y_far + (y_near - y_far) * tt - horizon)  # far → near
    lam = rng.uniform(5, 8)
    light = np.array([(-1 if from_left else 1) * 0.9, -0.2, 0.5], F32)
    light /= np.linalg.norm(light)
    # Steep lee faces turn toward the camera and away from the sun, so both light and shade show.
    theta = np.arctan2(-0.7, -np.sign(light[0]) * 0.7) + rng.uniform(-0.25, 0.25)
    c, sn = F32(np.cos(theta)), F32(np.sin(theta))
    ph = rng.uniform(0, 1, 3).astype(F32)
    warp_f, warp_a = F32(rng.uniform(0.05, 0.12)), F32(rng.uniform(0.08, 0.2) * lam)
    cam_x = F32(rng.uniform(-50, 50))
    ripple_d = float(depth[-1]) * 16

    def height(x: np.ndarray, d: np.ndarray) -> np.ndarray:
        u = x * c + d * sn
        v = d * c - x * sn
        u = u + warp_a * np.sin(F32(2 * np.pi) * (warp_f * v + ph[0]))
        out = np.zeros_like(u)
        for k, amp in ((1.0, 0.55), (2.7, 0.12)):
            f = np.mod(u * F32(k / lam) + ph[1] * k, F32(1))
            p = F32(0.74)
            out += F32(amp) * np.where(f < p, (f / p) ** F32(1.7), (1 - (f - p) / (1 - p)) ** 2)
        ripple = np.sin(F32(2 * np.pi) * (u * F32(1.6) + F32(0.3) * np.sin(v * F32(0.9))))  # wind ripples near by
        return out + F32(0.03) * ripple * np.exp(-d / F32(ripple_d))

    wl = max(2, w // 3)
    d = depth[:, None]
    x = ((np.arange(wl, dtype=F32) + 0.5) * F32(w / wl) - F32(w / 2))[None, :] * d / F32(focal) + cam_x
    flat = 1 / (1 + d / F32(depth[0] * 0.25))  # far dunes flatten into the haze instead of aliasing
    z = height(x, d) * flat
    gx = np.gradient(z, axis=1) / (F32(w / wl) * d / F32(focal))  # slopes from the neighbouring samples
    gd = np.gradient(z, depth.astype(F32), axis=0)
    lam_t = (light[2] - gx * light[0] - gd * light[1]) / np.sqrt(gx * gx + gd * gd + 1)
    k_tab = cv2.resize(np.clip((lam_t - 0.26) * 2.8, 0, 1).astype(F32), (w, n), interpolation=cv2.INTER_LINEAR)
    ys = cv2.resize((horizon + (cam_h - z) * F32(focal) / d).astype(F32), (w, n), interpolation=cv2.INTER_LINEAR)
    fog = (1 - np.exp(-depth / (depth[0] * 0.25))).astype(F32)

    # y-buffer: the owner of a pixel is the nearest slice whose envelope top lies above it.
    env = np.minimum.accumulate(ys[::-1], axis=0)[::-1]
    first = np.clip(np.ceil(env), 0, h).astype(np.int64)
    top = int(first[0].min())
    if top >= h:
        return env, depth, focal
    cols = np.arange(w)
    counts = np.bincount((first * w + cols[None, :]).ravel(), minlength=(h + 1) * w)[: (h + 1) * w].reshape(h + 1, w)
    owner = np.cumsum(counts[top:h], axis=0) - 1
    owner = np.clip(owner, 0, n - 1)
    kk = k_tab[owner, cols[None, :]][..., None]
    col = shade + (lit - shade) * kk
    col += (haze - col) * fog[owner][..., None]
    col = cv2.GaussianBlur(col, (0, 0), max(0.45, 0.6 * min(h, w) / 1080))
    y0, m = profile_mask(h, w, env[0])
    m = m[top - y0 :] if top >= y0 else np.concatenate([np.zeros((y0 - top, w, 1), F32), m])
    tgt = img[top:]
    tgt += (col - tgt) * m
    return env, depth, focal


def _saguaro(
    layer: Layer,
    rng: np.random.Generator,
    x: float,
    base: float,
    height: float,
    color: np.ndarray,
    rim: np.ndarray,
    side: float,
) -> None:
    """A saguaro cactus: a rounded trunk with one to three bent arms and a rim of light on the sun side."""
    tw = height * 0.16
    top = base - height
    layer.line([(x, base + tw), (x, top + tw / 2)], color, tw)
    for _ in range(int(rng.integers(1, 4))):
        d = rng.choice([-1, 1])
        ay = base - height * rng.uniform(0.3, 0.6)
        out = tw * rng.uniform(1.2, 1.8)
        up = height * rng.uniform(0.18, 0.35)
        layer.line([(x, ay), (x + d * out, ay), (x + d * out, ay - up)], color, tw * 0.72)
    layer.line(
        [(x + side * tw * 0.3, base - tw), (x + side * tw * 0.3, top + tw * 0.6)], rim, max(1.0, tw * 0.14), 0.22
    )


def _wind_ripples(img: np.ndarray, rng: np.random.Generator, top: np.ndarray, horizon: float) -> None:
    """Score the sand under the `top` profile with wind ripples: wavy lines across the view, crowding toward the
    horizon as they recede (and fading out before they get too fine to draw), a little softer at the bottom."""
    h, w = img.shape[:2]
    y0, m = profile_mask(h, w, top)
    if y0 >= h:
        return
    lh, lw = max(2, (h - y0) // 2), max(2, w // 2)
    ys = (y0 + (np.arange(lh, dtype=F32) + 0.5) * F32((h - y0) / lh))[:, None]
    xs = ((np.arange(lw, dtype=F32) + 0.5) * F32(w / lw))[None, :]
    v = np.maximum(ys - F32(horizon), 1.0)
    a = F32(12 * h)
    warp = value_noise(rng, lh, lw, 6, octaves=3) - 0.5
    slant = F32(rng.uniform(-0.4, 0.4))
    phase = a / v + slant * (xs - w / 2) / v * F32(8) + warp * F32(3)
    spacing = v * v / a  # pixels between ripples
    amp = smoothstep(2.0, 5.0, spacing) * (1 - 0.4 * smoothstep(0.85 * h, h, ys)) * F32(0.07)
    ripple = 1 + amp * np.sin(phase * F32(2 * np.pi))
    tgt = img[y0:]
    tgt *= 1 + (upscale(ripple.astype(F32), h - y0, w)[..., None] - 1) * m


def _butte(
    layer: Layer,
    rng: np.random.Generator,
    x: float,
    base: float,
    width: float,
    height: float,
    lit: np.ndarray,
    shade: np.ndarray,
    sun_side: float,
) -> None:
    """A sandstone butte standing on row `base`: sheer walls under a flat cap on a skirt of scree, the wall
    toward the sun bright and the other in shade, both scored by vertical gullies."""
    tw = width * rng.uniform(0.38, 0.55)
    wall = height * rng.uniform(0.5, 0.65)
    top = base - height
    lt, rt = (x - tw / 2, top), (x + tw / 2, top)
    lb, rb = (x - tw * 0.56, top + wall), (x + tw * 0.56, top + wall)
    fl, fr = (x - width / 2, base + 2), (x + width / 2, base + 2)
    layer.poly([fl, lb, lt, rt, rb, fr], shade)
    corner = x + sun_side * tw * rng.uniform(0.1, 0.3)
    if sun_side > 0:
        layer.poly([(corner, top), rt, rb, (corner + tw * 0.04, top + wall)], lit)
        layer.poly([(corner + tw * 0.04, top + wall), rb, fr, (x + width * 0.1, base + 2)], mix(shade, lit, 0.55))
    else:
        layer.poly([lt, (corner, top), (corner - tw * 0.04, top + wall), lb], lit)
        layer.poly([lb, (corner - tw * 0.04, top + wall), (x - width * 0.1, base + 2), fl], mix(shade, lit, 0.55))
    gullies = []
    for _ in range(int(rng.integers(6, 12))):
        gx = x + rng.uniform(-0.48, 0.48) * tw
        gullies.append(
            np.array([(gx, top + height * 0.03), (gx + rng.normal(0, 0.01) * tw, top + wall * rng.uniform(0.5, 1))])
        )
    layer.lines(gullies, scale(shade, 0.75), max(1.0, tw * 0.012), 0.7)
    layer.line([lt, rt], mix(lit, shade, 0.3), max(1.0, height * 0.025))


def draw_desert(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Sand dunes in crisp light and shade under a big low sun, with cacti and rocks in the foreground."""
    s = min(w, h)
    sunset = rng.random() < 0.5
    light = pal.light
    horizon = rng.uniform(0.35, 0.4)
    if sunset:
        top, low = tone_to(mix(pal.deep, pal.accent, 0.35), 75), tone_to(mix(pal.warm, pal.sunlight, 0.35), 215)
    else:
        top = tone_to(mix(pal.tone((60, 120, 190), 0.45), pal.deep, 0.2), 95)
        low = tone_to(mix(pal.sunlight, pal.warm, 0.25), 225)
    img = _sky(h, w, top, low, horizon=horizon + 0.02, ease=1.2)
    sun_x = rng.uniform(0.22, 0.78) * w
    sun_y = rng.uniform(0.15, 0.24) * h
    sun_r = rng.uniform(0.08, 0.12) * s
    sun_c = mix(pal.sunlight, pal.warm, 0.35 if sunset else 0.12)
    glow(img, [(sun_x, sun_y, sun_r * 4, mix(pal.warm, light, 0.4), 0.7)])
    glow(img, [(sun_x, sun_y, h * 0.6, pal.warm, 0.35)], falloff="halo")
    rays = Layer(h, w, 0.25)  # the sun's rays fanning out through the dusty air
    n_rays = int(rng.integers(20, 30))
    a0 = rng.uniform(0, 2 * np.pi)
    for k in range(n_rays):
        a = a0 + 2 * np.pi * k / n_rays
        da = np.pi / n_rays * rng.uniform(0.35, 0.6)
        L = 1.5 * max(w, h)
        rays.poly(
            [
                (sun_x, sun_y),
                (sun_x + np.cos(a - da) * L, sun_y + np.sin(a - da) * L),
                (sun_x + np.cos(a + da) * L, sun_y + np.sin(a + da) * L),
            ],
            sun_c,
            0.22,
        )
    rays.composite(img, blur=0.003 * s, mode="screen")
    _sun(img, sun_x, sun_y, sun_r, sun_c, edge=0.003 * s)

    haze = mix(low, light, 0.08)
    sand = pal.tone((214, 160, 98), 0.35)
    lit = tone_to(mix(sand, pal.sunlight, 0.35), 225)
    shade = tone_to(mix(mix(sand, pal.dark, 0.58), pal.cool, 0.15), 88)
    # Sandstone buttes on the horizon, the nearest biggest and clearest.
    buttes = Layer(h, w)
    rock = pal.tone((196, 104, 62), 0.35)
    rock_lit = tone_to(mix(rock, pal.sunlight, 0.25), 165)
    rock_shade = tone_to(mix(rock, pal.dark, 0.3), 62)
    count = int(rng.integers(1, 4))
    for k in range(count):
        far = (count - 1 - k) / max(count, 1)  # drawn far to near
        bh = (rng.uniform(0.12, 0.2) if k == count - 1 else rng.uniform(0.05, 0.11)) * h
        bw = min(bh * rng.uniform(1.2, 2.4), 0.45 * w)
        bx = rng.uniform(0.1, 0.9) * w
        fade_k = 0.25 + 0.4 * far
        _butte(
            buttes,
            rng,
            bx,
            (horizon + 0.015) * h,
            bw,
            bh,
            mix(rock_lit, haze, fade_k),
            mix(rock_shade, haze, fade_k),
            1.0 if sun_x > bx else -1.0,
        )
    buttes.composite(img, blur=0.0008 * s)

    from_left = sun_x < w / 2
    envelope, depth, focal = _dune_field(rng, img, horizon * h, from_left, lit, shade, haze)
    _wind_ripples(img, rng, envelope[0], horizon * h)
    n = len(depth)
    fore = Layer(h, w)
    cactus = mix(pal.tone((52, 82, 48), 0.4), pal.dark, 0.35)
    rim = mix(light, pal.warm, 0.3)
    side = -1 if from_left else 1

    def slice_at(x: int, frac: float) -> int:
        """The depth slice whose surface shows at a fraction of the way from the horizon to 0.8 of the height."""
        y = horizon * h + (0.8 - horizon) * h * frac
        return int(np.clip(np.searchsorted(envelope[:, x], y), 0, n - 1))

    for j in range(int(rng.integers(1, 4))):
        cx = int(rng.uniform(0.08, 0.92) * (w - 1))
        i = slice_at(cx, rng.uniform(0.15, 0.55) if j else rng.uniform(0.6, 0.85))
        size = min(rng.uniform(0.8, 1.2) * (1.0 if j else 1.5) * focal / depth[i], 0.45 * h)
        fog = float(np.clip(1 - np.exp(-depth[i] / (depth[0] * 0.22)), 0, 1))
        _saguaro(fore, rng, cx, envelope[i, cx] + 0.08 * size, 0.5 * size, mix(cactus, haze, fog), rim, side)
    for _ in range(int(rng.integers(2, 5))):
        rx = int(rng.uniform(0, w - 1))
        i = slice_at(rx, rng.uniform(0.3, 1.0))
        ry = envelope[i, rx] + 0.02 * h
        rr = 0.12 * focal / depth[i]
        ang = np.linspace(0, np.pi, 12)
        bump = rr * (1 + rng.uniform(-0.18, 0.18, 12))
        pts = np.stack([rx + np.cos(ang) * bump * 1.4, ry - np.sin(ang) * bump * 0.8], 1)
        fore.poly(pts, mix(shade, pal.dark, 0.45))
        fore.poly(pts[3 if from_left else 0 : 12 if from_left else 9] + (0, rr * 0.12), mix(shade, lit, 0.35), 0.6)
    fore.composite(img)
    return img


# --- volcano ------------------------------------------------------------------------------------------------------


def draw_volcano(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """An erupting cone at night: a towering ash column lit orange from the crater, a lava fountain, lava
    rivers down ribbed dark flanks and the red glow they throw on the sky."""
    s = min(w, h)
    lava = pal.tone((255, 96, 24), 0.22)
    hot = pal.tone((255, 214, 110), 0.15)
    ember = pal.tone((190, 40, 20), 0.3)
    dark = tone_to(mix(pal.dark, ember, 0.25), 11)
    img = _sky(h, w, tone_to(mix(pal.dark, pal.deep, 0.3), 4), tone_to(mix(ember, pal.warm, 0.25), 38), 0.8, 1.8)

    cx = rng.uniform(0.38, 0.62) * w
    peak = rng.uniform(0.36, 0.44) * h
    base = 0.82 * h
    half = max(0.5 * w, 0.45 * h) * rng.uniform(0.85, 1.1)
    crater = half * rng.uniform(0.07, 0.1)
    glow(img, [(cx, peak, 0.45 * s, ember, 0.4), (cx, peak - 0.1 * h, 0.2 * s, lava, 0.3)])

    far = Layer(h, w, 0.5)
    prof = ridge(rng, w, 0.7, 0.05, octaves=4) * h
    far.poly(
        np.concatenate([np.stack([np.arange(w), prof], 1)[:: max(1, w // 300)], [[w, h], [0, h]]]),
        tone_to(mix(pal.deep, ember, 0.4), 22),
    )
    far.composite(img, blur=0.004 * h)

    # The eruption column: billows swelling as they rise, bent by the wind and spreading under the sky's lid.
    wind = rng.choice([-1.0, 1.0]) * rng.uniform(0.04, 0.16) * w
    ash = mix(pal.tone((120, 112, 108), 0.3), pal.light, 0.1)
    blobs = []
    steps = 16
    for i in range(steps):
        t = i / (steps - 1)
        px = cx + wind * t**2
        py = peak - 0.02 * h - t * (peak + 0.02 * h)
        r = s * (0.05 + 0.3 * t**0.8)
        for _ in range(2):
            rr = r * rng.uniform(0.7, 1.0)
            blobs.append((px + rng.normal(0, 0.25) * r, py + rng.normal(0, 0.15) * r, rr, rr))
    cloud_mass(
        img,
        rng,
        blobs,
        tone_to(mix(ash, ember, 0.25), 30),
        tone_to(mix(ash, lava, 0.55), 120),
        (-np.sign(wind) * 0.15, 1.0),  # lit from below, by the crater
        rough=0.75,
        glow_from=(tone_to(lava, 150), 0.6),
        relief=0.45,
    )
    # The cone: concave flanks, a notched crater, ribs of scree and old flows fanning down from the rim.
    xs = np.arange(w, dtype=F32)
    dx = np.abs(xs - cx) / half
    cone = peak + (base - peak) * np.clip(dx, 0, None) ** 0.72
    cone += np.where(np.abs(xs - cx) < crater, 0.012 * h * (1 - ((xs - cx) / crater) ** 2), 0)
    cone += ridge(rng, w, 0, 0.012 * h, octaves=5) * np.clip(dx, 0, 1)
    ground = ridge(rng, w, 0.82 * h, 0.01 * h, octaves=4)
    profile = np.minimum(cone, ground)
    y0, m = profile_mask(h, w, profile)
    k = 0.5 if min(w, h - y0) > 16 else 1.0
    bh, bw = max(2, round((h - y0) * k)), max(2, round(w * k))
    gx = ((np.arange(bw, dtype=F32) + 0.5) * F32(w / bw))[None, :]
    gy = (y0 + (np.arange(bh, dtype=F32) + 0.5) * F32((h - y0) / bh))[:, None]
    ribs, relief = _fan_ribs(rng, gx, gy, cx, peak, base - peak, bw)
    side = np.clip((gx - cx) / half, -1, 1)
    lit = np.clip(0.5 + 0.35 * np.clip(relief, -1, 1) * -np.sign(wind) - 0.2 * side * np.sign(wind), 0, 1)
    down = np.clip((gy - peak) / (base - peak), 0, 1)
    heat = np.exp(-(((gx - cx) / (0.5 * half)) ** 2) - ((gy - peak) / (0.35 * (base - peak))) ** 2)
    rock_lo, rock_hi = tone_to(mix(pal.dark, pal.deep, 0.4), 8), tone_to(mix(pal.deep, ember, 0.55), 75)
    col = rock_lo + (rock_hi - rock_lo) * (lit * (0.3 + 0.7 * heat) * (1 - 0.5 * down))[..., None]
    col = cv2.resize(col.astype(F32), (w, h - y0), interpolation=cv2.INTER_LINEAR)
    tgt = img[y0:]
    tgt += (col - tgt) * m
    fill_below(img, ground + 0.01 * h, dark, scale(dark, 0.8), span=0.15 * h)

    # Lava rivers down the flanks (a wide blurred glow under a bright core); the first reaches the plain.
    # Cracks glowing in the old flows, fanning down from the rim.
    cracks = Layer(h, w)
    for _ in range(int(rng.integers(14, 24))):
        f = rng.uniform(-0.9, 0.9)
        ys = np.linspace(peak + rng.uniform(0.02, 0.15) * (base - peak), base, 10)
        tt = (ys - peak) / (base - peak)
        xx = cx + f * half * tt ** (1 / 0.72) * 0.95 + np.cumsum(rng.normal(0, 0.003, 10)) * w
        keep = int(rng.integers(4, 10))
        c = mix(ember, lava, rng.uniform(0, 0.6))
        cracks.line(
            np.stack([xx[:keep], ys[:keep]], 1), c, max(1.0, rng.uniform(0.002, 0.004) * s), rng.uniform(0.25, 0.6)
        )
    cracks.composite(img, blur=0.001 * s, mode="add")
    glow_l = Layer(h, w, 0.5)
    core = Layer(h, w)
    for i in range(int(rng.integers(4, 8))):
        d = rng.choice([-1.0, 1.0])
        reach = 1.0 if i == 0 else rng.uniform(0.45, 0.95)
        f = rng.uniform(0.15, 0.5) if i == 0 else rng.uniform(0.15, 0.75)
        ys = np.linspace(peak + 0.004 * h, peak + reach * (base - peak), 28)
        tt = (ys - peak) / (base - peak)
        xx = cx + d * (crater * rng.uniform(0.2, 0.9) + f * half * tt ** (1 / 0.72))
        xx += np.sin(tt * rng.uniform(8, 16) + rng.uniform(0, 6)) * 0.012 * w * tt
        pts = np.stack([xx, ys + 0.006 * h], 1)
        if i == 0:
            end = pts[-1]
            tail = bezier(
                [
                    end,
                    end + (d * 0.08 * w, 0.04 * h),
                    end + (d * rng.uniform(0.15, 0.3) * w, rng.uniform(0.05, 0.08) * h),
                ],
                16,
            )
            pts = np.concatenate([pts, tail[1:]])
        n = len(pts)
        for j in range(0, n - 1, 3):
            k = 1 - j / n if i else 0.6 + 0.4 * np.sin(np.pi * j / n)
            seg = pts[j : j + 4]
            glow_l.line(seg, lava, 0.016 * s * k + 2, 0.8)
            core.line(seg, mix(hot, lava, 1 - k), 0.005 * s * k + 1)
    glow_l.composite(img, blur=0.008 * s, mode="add", opacity=0.8)
    core.composite(img)

    # The lava fountain: glowing bombs thrown in arcs from the crater, then the crater's own blaze.
    sparks = Layer(h, w)
    for _ in range(int(rng.integers(30, 50))):
        vx, vy = rng.normal(0, 0.7), rng.uniform(0.8, 1.8)
        t = np.linspace(0, rng.uniform(0.5, 1.3), 10)
        pts = np.stack([cx + vx * t * 0.1 * h, peak - (vy * t - 0.9 * t**2) * 0.1 * h], 1)
        sparks.line(pts[-4:], mix(hot, lava, rng.uniform(0, 1)), max(1.0, 0.004 * s), rng.uniform(0.5, 1.0))
    for _ in range(int(w * h / 1800)):  # embers and glowing ash drifting up around the column
        ex = cx + wind * rng.uniform(0, 1) + rng.normal(0, 0.28) * w
        ey = peak * rng.uniform(0, 1) ** 0.7
        r = max(0.7, rng.uniform(0.8, 2.6) * s / 1080)
        sparks.circle(ex, ey, r, mix(ember, hot, rng.random()), rng.uniform(0.4, 1.0))
    sparks.composite(img, mode="add")
    glow(
        img,
        [(cx, peak, 0.05 * s, hot, 1.0), (cx, peak, 0.15 * s, lava, 0.8), (cx, peak - 0.06 * h, 0.35 * s, ember, 0.4)],
    )
    glow(img, [(cx, base, 0.9 * w, ember, 0.12)], falloff="halo", mode="add")
    return img


__all__ = ["draw_desert", "draw_forest", "draw_mountains", "draw_volcano"]
