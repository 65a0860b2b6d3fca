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
    cloud_volume,
    fill_below,
    glow,
    mist,
    mix,
    profile_mask,
    ridge,
    scale,
    smoothstep,
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


def draw_mountains(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Layered mountain ridges under a sun with soft bokeh, fading into haze with distance."""
    cols, n = pal.colors, len(pal.colors)
    dark, light = pal.dark, pal.light
    accent = cols[int(rng.integers(2, n))]
    sky_top = mix(cols[int(rng.integers(0, 2))], light, 0.12)
    horizon = cols[int(rng.integers(1, n - 1))]
    img = _sky(h, w, sky_top, 0.55 * horizon + 0.45 * accent)

    sun_x, sun_y = rng.uniform(0.2, 0.8) * w, rng.uniform(0.22, 0.45) * h
    sun_r = 0.045 * h
    glow(img, [(sun_x, sun_y, rng.uniform(0.18, 0.32) * h, 0.6 * light + 0.4 * accent, 0.75)], mode="over")
    glow(img, [(sun_x, sun_y, 0.5 * h, light, 0.25)], falloff="halo")
    _sun(img, sun_x, sun_y, sun_r, light, edge=0.004 * h)

    orbs = Layer(h, w, 0.25)
    for _ in range(int(rng.integers(6, 14))):
        c = 0.5 * cols[int(rng.integers(2, n))] + 0.5 * light
        orbs.circle(rng.uniform(0, w), rng.uniform(0, 0.6 * h), rng.uniform(0.02, 0.07) * w, c, rng.uniform(0.08, 0.22))
    orbs.composite(img, blur=8)
    cirrus(img, rng, 0.0, 0.5 * h, mix(light, accent, 0.2), 0.55, 0.5, rng.uniform(-0.3, 0.3))

    layers = int(rng.integers(3, 6))
    haze = 0.5 * horizon + 0.5 * light
    snow = mix(light, accent, 0.1)
    for k in range(layers):
        depth = k / max(layers - 1, 1)  # 0 = far, 1 = near
        base = 0.42 + 0.46 * depth + rng.uniform(-0.03, 0.03)
        span = min(h, 0.5625 * w)  # keep slopes the same in portrait pictures
        profile = base * h + ridge(rng, w, 0, amplitude=0.09 - 0.045 * depth, sharp=0.35 * (1 - depth)) * span
        tone = dark * (0.35 + 0.65 * depth) + haze * (1 - depth) * 0.65
        top = tone + accent * 0.08 * (1 - depth)
        fill_below(img, profile, top, top * 0.62, span=0.35 * h)
        if k == 0 and layers > 2:  # snow on the highest far peaks
            line = float(np.quantile(profile, 0.15))
            y0, m = profile_mask(h, w, profile)
            rows = np.arange(y0, h, dtype=F32)[:, None]
            below = rows - profile[None, :]
            cap = (1 - smoothstep(line - 0.004 * h, line + 0.004 * h, rows)) * (1 - smoothstep(0.0, 0.012 * h, below))
            tgt = img[y0:]
            tgt += (mix(snow, haze, 0.3) - tgt) * (m * cap[..., None] * F32(0.8))
        if depth < 1:
            mist(img, rng, (base + 0.06) * h, 0.022 * h, haze, strength=0.2 * (1 - depth) + 0.05, streaks=0.4)
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
    y_near, y_far = 1.12 * h, horizon + max(0.008 * h, 1.0)
    n = int(np.clip(2 * (y_near - y_far), 24, 2400))
    tt = np.linspace(0, 1, n, dtype=F32) ** 1.6
    depth = cam_h * focal / (y_far + (y_near - y_far) * tt - horizon)  # far → near
    lam = rng.uniform(7, 11)
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
        return out + F32(0.022) * ripple * np.exp(-d / F32(ripple_d))

    wl = max(2, w // 3)
    d = depth[:, None]
    x = ((np.arange(wl, dtype=F32) + 0.5) * F32(w / wl) - F32(w / 2))[None, :] * d / F32(focal) + cam_x
    flat = 1 / (1 + d / F32(depth[0] * 0.25))  # far dunes flatten into the haze instead of aliasing
    z = height(x, d) * flat
    e = F32(0.02)
    gx = (height(x + e, d) * flat - z) / e
    gd = (height(x, d + e) * flat - z) / e
    lam_t = (light[2] - gx * light[0] - gd * light[1]) / np.sqrt(gx * gx + gd * gd + 1)
    k_tab = cv2.resize(np.clip((lam_t - 0.22) * 2.1, 0, 1).astype(F32), (w, n), interpolation=cv2.INTER_LINEAR)
    ys = cv2.resize((horizon + (cam_h - z) * F32(focal) / d).astype(F32), (w, n), interpolation=cv2.INTER_LINEAR)
    fog = (1 - np.exp(-depth / (depth[0] * 0.12))).astype(F32)

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


def draw_desert(rng: np.random.Generator, pal: Palette, w: int, h: int) -> np.ndarray:
    """Sand dunes in crisp light and shade under a big low sun, with cacti and rocks in the foreground."""
    s = min(w, h)
    sunset = rng.random() < 0.5
    light = pal.light
    if sunset:
        top, low = mix(pal.deep, pal.accent, 0.35), mix(pal.warm, pal.sunlight, 0.35)
    else:
        top, low = mix(pal.tone((60, 120, 190), 0.45), pal.deep, 0.2), mix(pal.sunlight, pal.warm, 0.25)
    img = _sky(h, w, top, low, horizon=0.46, ease=1.2)
    sun_x = rng.uniform(0.22, 0.78) * w
    sun_y = rng.uniform(0.2, 0.3) * h
    sun_r = rng.uniform(0.08, 0.12) * s
    sun_c = mix(pal.sunlight, pal.warm, 0.35 if sunset else 0.12)
    glow(img, [(sun_x, sun_y, sun_r * 4, mix(pal.warm, light, 0.4), 0.7)])
    glow(img, [(sun_x, sun_y, h * 0.6, pal.warm, 0.35)], falloff="halo")
    rays = Layer(h, w, 0.25)  # the sun's rays fanning out through the dusty air
    n_rays = int(rng.integers(14, 22))
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
            0.16,
        )
    rays.composite(img, blur=0.004 * s, mode="screen")
    _sun(img, sun_x, sun_y, sun_r, sun_c, edge=0.003 * s)

    haze = mix(low, light, 0.08)
    sand = pal.tone((214, 160, 98), 0.35)
    lit = mix(sand, pal.sunlight, 0.35)
    shade = mix(mix(sand, pal.dark, 0.58), pal.cool, 0.15)
    if rng.random() < 0.65:  # distant mesas
        mesas = Layer(h, w, 0.5)
        for _ in range(int(rng.integers(1, 4))):
            mx, mw = rng.uniform(0, w), rng.uniform(0.08, 0.22) * w
            mh, my = rng.uniform(0.04, 0.08) * h, 0.46 * h
            tw = mw * rng.uniform(0.4, 0.6)
            tal = (mw - tw) / 2 * rng.uniform(0.3, 0.6)
            mesa = [
                (mx - mw / 2, my),
                (mx - tw / 2 - tal, my - mh * 0.45),
                (mx - tw / 2, my - mh),
                (mx + tw / 2, my - mh),
            ]
            mesa += [
                (mx + tw / 2 + tal, my - mh * 0.4),
                (mx + mw / 2, my),
                (mx + mw / 2, 0.75 * h),
                (mx - mw / 2, 0.75 * h),
            ]
            mesas.poly(mesa, mix(shade, haze, 0.68))
        mesas.composite(img, blur=1)

    from_left = sun_x < w / 2
    envelope, depth, focal = _dune_field(rng, img, 0.44 * h, from_left, lit, shade, haze)
    n = len(depth)
    fore = Layer(h, w)
    cactus = mix(pal.tone((52, 82, 48), 0.4), pal.dark, 0.35)
    rim = mix(light, pal.warm, 0.3)
    side = -1 if from_left else 1
    for j in range(int(rng.integers(1, 4))):
        i = int(n * rng.uniform(0.45, 0.75)) if j else int(n * rng.uniform(0.75, 0.85))
        cx = int(rng.uniform(0.08, 0.92) * w)
        size = min(rng.uniform(0.8, 1.2) * focal / depth[i], 0.45 * h)
        fog = float(np.clip(1 - np.exp(-depth[i] / (depth[0] * 0.22)), 0, 1))
        _saguaro(fore, rng, cx, envelope[i, cx] + 0.08 * size, 0.5 * size, mix(cactus, haze, fog), rim, side)
    for _ in range(int(rng.integers(2, 5))):
        i = int(n * rng.uniform(0.6, 0.97))
        rx = int(rng.uniform(0, w - 1))
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
    """An erupting cone: glowing crater, lava streaks down dark flanks and an ash plume lit from below."""
    s = min(w, h)
    lava = pal.tone((255, 96, 24), 0.22)
    hot = pal.tone((255, 214, 110), 0.15)
    ember = pal.tone((190, 40, 20), 0.3)
    dark = scale(pal.dark, 0.8)
    img = _sky(
        h,
        w,
        scale(mix(pal.dark, pal.deep, 0.2), 0.7),
        mix(mix(pal.deep, ember, 0.5), pal.warm, 0.3),
        horizon=0.72,
        ease=1.8,
    )

    cx = rng.uniform(0.38, 0.62) * w
    peak = rng.uniform(0.33, 0.4) * h
    base = 0.8 * h
    half = max(0.5 * w, 0.45 * h) * rng.uniform(0.85, 1.1)
    crater = half * rng.uniform(0.07, 0.1)

    far = Layer(h, w, 0.5)
    prof = ridge(rng, w, 0.66, 0.05, octaves=4) * h
    far.poly(
        np.concatenate([np.stack([np.arange(w), prof], 1)[:: max(1, w // 300)], [[w, h], [0, h]]]),
        mix(mix(pal.dark, pal.deep, 0.4), ember, 0.3),
    )
    far.composite(img, blur=0.004 * h)

    # Ash plume: billows growing and drifting with the wind, lit orange from the crater below.
    wind = rng.uniform(-1, 1) * 0.3 * w
    ash = mix(pal.tone((120, 112, 108), 0.3), pal.light, 0.15)
    steps = 18
    blobs = []
    for i in range(steps):
        t = i / (steps - 1)
        px = cx + wind * t**1.7
        py = peak - 0.01 * h - t * (peak + 0.08 * h)
        r = s * (0.045 + 0.22 * t**0.9)
        for _ in range(3):
            rr = r * rng.uniform(0.6, 1.0)
            blobs.append((px + rng.normal(0, 0.3) * r, py + rng.normal(0, 0.2) * r, rr, rr))
    cloud_volume(
        img,
        rng,
        blobs,
        scale(ash, 0.45),
        [((-0.4, -1), mix(ash, pal.light, 0.35), 0.75), ((0, 1), mix(lava, ash, 0.3), 0.5)],
        detail=0.12,
    )
    # The cone: concave flanks, a notched crater, rough lower slopes.
    xs = np.arange(w, dtype=F32)
    dx = np.abs(xs - cx) / half
    cone = peak + (base - peak) * np.clip(dx, 0, None) ** 0.72
    cone += np.where(np.abs(xs - cx) < crater, 0.012 * h * (1 - ((xs - cx) / crater) ** 2), 0)
    cone += ridge(rng, w, 0, 0.012 * h, octaves=5) * np.clip(dx, 0, 1)
    ground = ridge(rng, w, 0.8 * h, 0.012 * h, octaves=4)
    profile = np.minimum(cone, ground)
    y0, m = profile_mask(h, w, profile)
    rows = np.arange(y0, h, dtype=F32)[:, None]
    rock = mix(dark, pal.deep, 0.35)
    side = np.clip((xs - cx) / half, -1, 1)[None, :]
    lit_k = 1 + 0.35 * np.clip(-side, 0, 1) - 0.2 * np.clip(side, 0, 1)
    down = np.clip((rows - peak) / (base - peak), 0, 1)
    col = mix(rock, ember, 0.35)[None, None, :] * (1 - down[..., None]) + dark * down[..., None]
    col = col * lit_k[..., None] * (1 - 0.3 * np.clip((rows - profile[None, :]) / (0.25 * h), 0, 1))[..., None]
    rough = upscale(value_noise(rng, max(2, (h - y0) // 4), max(2, w // 4), 14, 4, stretch=0.5), h - y0, w)
    col *= (0.6 + 0.8 * rough)[..., None]  # scree and lava rock
    tgt = img[y0:]
    tgt += (col - tgt) * m

    # Gullies, then lava streaks down the flanks (a wide blurred glow under a bright core).
    gul = Layer(h, w)
    for _ in range(int(rng.integers(22, 34))):
        f = rng.uniform(-0.95, 0.95)
        ys = np.linspace(peak + rng.uniform(0.02, 0.2) * h, base, 12)
        xx = (
            cx + f * half * ((ys - peak) / (base - peak)) ** (1 / 0.72) * 0.92 + np.cumsum(rng.normal(0, 0.004, 12)) * w
        )
        ys = ys[: int(rng.integers(5, 12))]
        c = mix(rock, ember, 0.45) if rng.random() < 0.5 else scale(rock, 0.45)
        gul.line(np.stack([xx[: len(ys)], ys + 0.01 * h], 1), c, max(1.0, rng.uniform(0.002, 0.005) * h), 0.6)
    gul.composite(img, blur=0.0015 * h)
    glow_l = Layer(h, w, 0.5)
    core = Layer(h, w)
    for i in range(int(rng.integers(3, 7))):
        d = rng.choice([-1.0, 1.0])
        reach = 1.0 if i == 0 else rng.uniform(0.45, 0.95)  # the first flow reaches the plain and runs on
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
                    end + (d * 0.08 * w, 0.06 * h),
                    end + (d * rng.uniform(0.15, 0.3) * w, rng.uniform(0.07, 0.12) * h),
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

    # Crater fire, sparks and the glow they throw on plume and rock.
    sparks = Layer(h, w)
    for _ in range(int(rng.integers(18, 34))):
        vx, vy = rng.normal(0, 0.6), rng.uniform(0.6, 1.6)
        t = np.linspace(0, rng.uniform(0.4, 1.0), 8)
        pts = np.stack([cx + vx * t * 0.12 * h, peak - (vy * t - 0.9 * t**2) * 0.12 * h], 1)
        sparks.line(pts[-3:], mix(hot, lava, rng.uniform(0, 1)), max(1.0, 0.003 * s), rng.uniform(0.5, 1.0))
    for _ in range(int(w * h / 2500)):  # drifting embers and ash
        ex, ey = cx + rng.normal(0, 0.3) * w, rng.uniform(0, peak)
        hot_k = rng.random()
        sparks.circle(ex, ey, max(0.7, rng.uniform(0.6, 2.2) * s / 1080), mix(ember, hot, hot_k), rng.uniform(0.3, 0.9))
    sparks.composite(img, mode="add")
    glow(
        img,
        [(cx, peak, 0.05 * s, hot, 1.0), (cx, peak, 0.16 * s, lava, 0.8), (cx, peak - 0.05 * h, 0.4 * s, ember, 0.45)],
    )
    glow(img, [(cx, base, 0.9 * w, ember, 0.18)], falloff="halo", mode="add")
    return img


__all__ = ["draw_desert", "draw_forest", "draw_mountains", "draw_volcano"]
