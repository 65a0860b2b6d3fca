"""base: shared drawing primitives for the scenery families.

A picture is a float32 H×W×3 array of RGB values in 0..255. Smooth things (skies, glows, mist, clouds) are
computed at a fraction of the size and scaled up; crisp shapes are drawn anti-aliased by OpenCV into
premultiplied RGBA layers that remember the box they touched, so compositing only costs the area drawn.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

F32 = np.float32
AA = cv2.LINE_AA
SHIFT = 4  # sub-pixel bits for OpenCV coordinates
ONE = 1 << SHIFT


# --- colour -------------------------------------------------------------------------------------------------------


def hex_rgb(value: str) -> np.ndarray:
    """'#RRGGBB' (or '#RGB') as a float32 RGB vector in 0..255."""
    h = value.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=F32)


def mix(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear blend of two colours: t=0 gives a, t=1 gives b."""
    return (np.asarray(a, F32) * (1 - t) + np.asarray(b, F32) * t).astype(F32)


def luminance(c: np.ndarray) -> float:
    """Relative brightness 0..255 of an RGB colour."""
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def tone_to(c: np.ndarray, target: float) -> np.ndarray:
    """The colour brought to a luminance of `target` (0..255), keeping its hue: scaled, and past full
    brightness mixed toward white. Families set their light and dark areas with it whatever the palette."""
    c = np.maximum(np.asarray(c, F32), 1.0)
    lum = luminance(c)
    out = c * F32(target / lum)
    top = float(out.max())
    if top > 255:
        base = c * F32(255 / float(c.max()))
        lb = luminance(base)
        t = float(np.clip((target - lb) / max(255 - lb, 1e-3), 0, 1))
        out = mix(base, np.full(3, 255, F32), t)
    return np.clip(out, 0, 255).astype(F32)


def saturation(c: np.ndarray) -> float:
    """HSV saturation 0..1 of an RGB colour."""
    hi, lo = float(np.max(c)), float(np.min(c))
    return 0.0 if hi <= 0 else (hi - lo) / hi


def scale(c: np.ndarray, k: float) -> np.ndarray:
    """A colour darkened (k < 1) or brightened (k > 1), clipped to 0..255."""
    return np.clip(np.asarray(c, F32) * k, 0, 255).astype(F32)


class Palette:
    """Colour roles read from a style palette: sorted dark → light, with an accent, a warm and a cool pick."""

    def __init__(self, colors: Sequence[str]) -> None:
        cols = [hex_rgb(c) for c in colors] or [hex_rgb("#14213D"), hex_rgb("#E9C46A"), hex_rgb("#F4F1DE")]
        if len(cols) < 3:
            base = cols[0]
            cols = [scale(base, 0.35), *cols, mix(cols[-1], np.full(3, 255, F32), 0.7)]
        cols.sort(key=luminance)
        self.colors = cols
        self.dark, self.light = cols[0], cols[-1]
        self.deep = cols[1]
        self.mids = cols[1:-1]
        self.mid = self.mids[len(self.mids) // 2]
        self.accent = max(self.mids, key=saturation)
        self.warm = self.nearest((240, 150, 60), 0.25)
        self.cool = self.nearest((40, 110, 170), 0.25)
        bright = [c for c in cols if luminance(c) >= 0.6 * luminance(self.light)] or [self.light]
        self.sunlight = mix(min(bright, key=saturation), np.array([255, 250, 238], F32), 0.3)

    def nearest(self, target: Sequence[float], lum_weight: float = 0.5) -> np.ndarray:
        """The palette colour closest in hue (and somewhat in brightness) to a target colour."""
        t = np.asarray(target, F32)

        def dist(c: np.ndarray) -> float:
            chroma = (c - c.mean()) - (t - t.mean())
            return float(np.linalg.norm(chroma) / 255 + lum_weight * abs(luminance(c) - luminance(t)) / 255)

        return min(self.colors, key=dist)

    def tone(self, natural: Sequence[float], k: float = 0.35) -> np.ndarray:
        """A natural colour (sea blue, lava orange...) pulled toward its nearest palette colour by k."""
        n = np.asarray(natural, F32)
        return mix(n, self.nearest(n), k)

    def pick(self, rng: np.random.Generator, options: Sequence[np.ndarray] | None = None) -> np.ndarray:
        """A random colour from the mid tones (or from the given options)."""
        opts = list(options) if options is not None else self.mids
        return opts[int(rng.integers(0, len(opts)))]


# --- layers of anti-aliased shapes ---------------------------------------------------------------------------------


class Layer:
    """Anti-aliased shapes in a premultiplied RGBA uint8 buffer (optionally at a reduced scale for soft shapes).

    Coordinates are always full-size pixels. Shapes drawn later replace earlier ones where they overlap;
    `composite` lays the buffer over a float picture, blurred if asked, touching only the box drawn into.
    """

    def __init__(self, height: int, width: int, scale: float = 1.0) -> None:
        self.height, self.width = height, width
        self.lh, self.lw = max(1, round(height * scale)), max(1, round(width * scale))
        self.sx, self.sy = self.lw / width, self.lh / height
        self.buf = np.zeros((self.lh, self.lw, 4), np.uint8)
        self.box = [self.lw, self.lh, 0, 0]

    def _pts(self, pts: np.ndarray | Sequence) -> np.ndarray:
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2) * (self.sx, self.sy)
        self._touch(p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max())
        return np.round(p * ONE).astype(np.int32)

    def _touch(self, x0: float, y0: float, x1: float, y1: float) -> None:
        b = self.box
        b[0] = min(b[0], max(0, int(np.floor(x0)) - 2))
        b[1] = min(b[1], max(0, int(np.floor(y0)) - 2))
        b[2] = max(b[2], min(self.lw, int(np.ceil(x1)) + 3))
        b[3] = max(b[3], min(self.lh, int(np.ceil(y1)) + 3))

    @staticmethod
    def _col(color: Sequence[float], alpha: float) -> tuple[float, float, float, float]:
        a = float(np.clip(alpha, 0, 1))
        c = np.clip(np.asarray(color, F32), 0, 255)
        return (float(c[0]) * a, float(c[1]) * a, float(c[2]) * a, 255.0 * a)

    def _thick(self, thickness: float) -> int:
        return max(1, round(thickness * self.sx))

    def poly(self, pts: np.ndarray | Sequence, color: Sequence[float], alpha: float = 1.0) -> None:
        """Fill one polygon given as (N, 2) points."""
        if len(pts) < 3:
            return
        cv2.fillPoly(self.buf, [self._pts(pts)], self._col(color, alpha), AA, SHIFT)

    def polys(self, shapes: Sequence[np.ndarray], color: Sequence[float], alpha: float = 1.0) -> None:
        """Fill several polygons in one colour (their overlaps are filled once)."""
        shapes = [s for s in shapes if len(s) >= 3]
        if shapes:
            cv2.fillPoly(self.buf, [self._pts(s) for s in shapes], self._col(color, alpha), AA, SHIFT)

    def rect(self, x0: float, y0: float, x1: float, y1: float, color: Sequence[float], alpha: float = 1.0) -> None:
        """Fill an axis-aligned rectangle."""
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], color, alpha)

    def ellipse(
        self,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        color: Sequence[float],
        alpha: float = 1.0,
        angle: float = 0.0,
        start: float = 0.0,
        end: float = 360.0,
        thickness: float = -1,
    ) -> None:
        """Fill (or, with thickness > 0, stroke) an ellipse or an arc of one."""
        rx, ry = max(rx * self.sx, 0.0), max(ry * self.sy, 0.0)
        cx, cy = cx * self.sx, cy * self.sy
        r = max(rx, ry) + max(thickness, 0) * self.sx
        self._touch(cx - r, cy - r, cx + r, cy + r)
        th = -1 if thickness < 0 else self._thick(thickness)
        center = (round(cx * ONE), round(cy * ONE))
        cv2.ellipse(
            self.buf,
            center,
            (round(rx * ONE), round(ry * ONE)),
            angle,
            start,
            end,
            self._col(color, alpha),
            th,
            AA,
            SHIFT,
        )

    def circle(self, cx: float, cy: float, r: float, color: Sequence[float], alpha: float = 1.0) -> None:
        """Fill a circle."""
        self.ellipse(cx, cy, r, r, color, alpha)

    def line(
        self,
        pts: np.ndarray | Sequence,
        color: Sequence[float],
        thickness: float = 1.0,
        alpha: float = 1.0,
        closed: bool = False,
    ) -> None:
        """Stroke a polyline with round ends."""
        if len(pts) < 2:
            return
        p = self._pts(pts)
        t = self._thick(thickness)
        self._touch(
            *(np.array([p[:, 0].min(), p[:, 1].min()]) / ONE - t), *(np.array([p[:, 0].max(), p[:, 1].max()]) / ONE + t)
        )
        cv2.polylines(self.buf, [p], closed, self._col(color, alpha), t, AA, SHIFT)

    def lines(
        self, paths: Sequence[np.ndarray], color: Sequence[float], thickness: float = 1.0, alpha: float = 1.0
    ) -> None:
        """Stroke several polylines in one colour."""
        paths = [q for q in paths if len(q) >= 2]
        if not paths:
            return
        t = self._thick(thickness)
        ps = [self._pts(q) for q in paths]
        allp = np.concatenate(ps) / ONE
        self._touch(allp[:, 0].min() - t, allp[:, 1].min() - t, allp[:, 0].max() + t, allp[:, 1].max() + t)
        cv2.polylines(self.buf, ps, False, self._col(color, alpha), t, AA, SHIFT)

    def composite(self, img: np.ndarray, opacity: float = 1.0, blur: float = 0.0, mode: str = "over") -> np.ndarray:
        """Lay the layer over img (modes: over, add, screen), blurred by `blur` full-size pixels first."""
        x0, y0, x1, y1 = self.box
        if x1 <= x0 or y1 <= y0:
            return img
        b = blur * self.sx
        if b > 0.3:
            pad = int(3 * b) + 2
            x0, y0 = max(0, x0 - pad), max(0, y0 - pad)
            x1, y1 = min(self.lw, x1 + pad), min(self.lh, y1 + pad)
            roi = cv2.GaussianBlur(self.buf[y0:y1, x0:x1], (0, 0), b)
        else:
            roi = self.buf[y0:y1, x0:x1]
        h, w = img.shape[:2]
        if self.lw != w or self.lh != h:
            X0, Y0 = int(x0 / self.sx), int(y0 / self.sy)
            X1, Y1 = min(w, max(X0 + 1, round(x1 / self.sx))), min(h, max(Y0 + 1, round(y1 / self.sy)))
            roi = cv2.resize(roi, (X1 - X0, Y1 - Y0), interpolation=cv2.INTER_LINEAR)
            if roi.ndim == 2:
                roi = roi[:, :, None]
        else:
            X0, Y0, X1, Y1 = x0, y0, x1, y1
        tgt = img[Y0:Y1, X0:X1]
        rgb = roi[..., :3].astype(F32)
        if opacity != 1.0:
            rgb *= F32(opacity)
        if mode == "add":
            tgt += rgb
        elif mode == "screen":
            tgt += rgb * (1 - np.minimum(tgt, 255) * F32(1 / 255))
        else:
            a = roi[..., 3:4].astype(F32) * F32(opacity / 255)
            tgt *= 1 - a
            tgt += rgb
        return img


# --- fields: gradients, glows, noise, mist -------------------------------------------------------------------------


def vertical_gradient(height: int, width: int, stops: Sequence[tuple[float, np.ndarray]]) -> np.ndarray:
    """A full picture graded from top to bottom through (position 0..1, colour) stops."""
    pos = np.array([p for p, _ in stops], F32)
    cols = np.array([c for _, c in stops], F32)
    y = (np.arange(height, dtype=F32) + 0.5) / max(height, 1)
    column = np.stack([np.interp(y, pos, cols[:, i]) for i in range(3)], axis=-1).astype(F32)
    img = np.empty((height, width, 3), F32)
    img[:] = column[:, None, :]
    return img


def smoothstep(e0: float, e1: float, x: np.ndarray) -> np.ndarray:
    """Hermite step from 0 at e0 to 1 at e1."""
    t = np.clip((x - e0) / (e1 - e0 if e1 != e0 else 1e-6), 0, 1)
    return t * t * (3 - 2 * t)


def _small(height: int, width: int, k: float = 0.25) -> tuple[int, int]:
    return max(2, round(height * k)), max(2, round(width * k))


def upscale(field: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale a small field (H×W or H×W×C float32) up to the picture size, bilinearly."""
    out = cv2.resize(field, (width, height), interpolation=cv2.INTER_LINEAR)
    return out if out.ndim == field.ndim else out[:, :, None]


def glow(
    img: np.ndarray,
    spots: Sequence[tuple[float, float, float, Sequence[float], float]],
    mode: str = "screen",
    falloff: str = "gauss",
) -> np.ndarray:
    """Add soft radial light: spots of (x, y, radius, colour, strength) in pixels, computed small, scaled up.

    Modes: screen (light that never blows out), add, over (tint toward the colour). Falloffs: gauss for a
    compact glow, halo for a long 1/(1+d²) tail like a light in haze.
    """
    h, w = img.shape[:2]
    lh, lw = _small(h, w)
    sx, sy = lw / w, lh / h
    acc = np.zeros((lh, lw, 4), F32)
    ys = ((np.arange(lh, dtype=F32) + 0.5) / sy)[:, None]
    xs = ((np.arange(lw, dtype=F32) + 0.5) / sx)[None, :]
    for x, y, r, color, strength in spots:
        r = max(float(r), 1.0)
        d2 = ((xs - x) ** 2 + (ys - y) ** 2) / F32(r * r)
        f = (np.exp(-d2) if falloff == "gauss" else 1 / (1 + d2 * 4)) * F32(strength)
        acc[..., :3] += f[..., None] * np.asarray(color, F32)
        acc[..., 3] += f
    if mode == "over":
        a = np.clip(acc[..., 3:], 0, 1)
        acc[..., :3] = acc[..., :3] / np.maximum(acc[..., 3:], 1e-4) * a
        acc[..., 3:] = a
        up = upscale(acc, h, w)
        img *= 1 - up[..., 3:]
        img += up[..., :3]
        return img
    up = upscale(np.ascontiguousarray(acc[..., :3]), h, w)
    if mode == "add":
        img += up
    else:
        img += np.minimum(up, 255) * (1 - np.clip(img, 0, 255) * F32(1 / 255))
    return img


def value_noise(
    rng: np.random.Generator,
    height: int,
    width: int,
    cells: float = 4,
    octaves: int = 4,
    gain: float = 0.5,
    stretch: float = 1.0,
) -> np.ndarray:
    """Fractal value noise in about 0..1 (H×W float32): random grids scaled up smoothly, octave on octave."""
    out = np.zeros((height, width), F32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cx = max(2, round(cells * 2**o))
        cy = max(2, round(cells * 2**o * height / max(width, 1) * stretch))
        grid = rng.random((cy + 1, cx + 1), dtype=F32)
        out += F32(amp) * cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= gain
    return out / F32(total)


def ridge(
    rng: np.random.Generator, n: int, base: float, amplitude: float, octaves: int = 6, sharp: float = 0.0
) -> np.ndarray:
    """A 1-D ridge profile of n samples: sines at doubling frequencies with falling amplitudes (sharp → peaks)."""
    x = np.linspace(0, 1, max(n, 2), dtype=F32)[:n]
    y = np.zeros(n, F32)
    amp, freq = amplitude, rng.uniform(1.2, 2.4)
    for _ in range(octaves):
        s = np.sin(2 * np.pi * (freq * x + rng.uniform(0, 1)))
        if sharp > 0:
            s = s * (1 - sharp) + sharp * (1 - 2 * np.abs(s))
        y += F32(amp) * s
        amp *= 0.5
        freq *= 2.03
    return base + y


def profile_mask(height: int, width: int, profile: np.ndarray) -> tuple[int, np.ndarray]:
    """The anti-aliased area under a per-column profile: (first row, H'×W×1 float32 coverage from that row)."""
    profile = np.asarray(profile, F32)
    y0 = int(min(height, max(0, np.floor(profile.min()) - 1)))
    xs = np.arange(width, dtype=F32)
    edge = np.stack([xs, profile - y0], 1)
    rim = [[width + 2, profile[-1] - y0], [width + 2, height + 2 - y0], [-2, height + 2 - y0], [-2, profile[0] - y0]]
    mask = np.zeros((height - y0, width), np.uint8)
    cv2.fillPoly(mask, [np.round(np.concatenate([edge, rim]) * ONE).astype(np.int32)], 255, AA, SHIFT)
    return y0, mask.astype(F32)[..., None] * F32(1 / 255)


def fill_below(
    img: np.ndarray,
    profile: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    span: float | None = None,
    relative: bool = True,
) -> np.ndarray:
    """Fill everything under a per-column height profile (pixels), graded from `top` at the edge to `bottom`."""
    h, w = img.shape[:2]
    profile = np.asarray(profile, F32)
    y0, m = profile_mask(h, w, profile)
    if y0 >= h:
        return img
    rows = np.arange(y0, h, dtype=F32)[:, None]
    span = span or max(h - float(profile.mean()), 1.0)
    t = np.clip((rows - profile[None, :]) / F32(span) if relative else (rows - y0) / F32(span), 0, 1)[..., None]
    tgt = img[y0:]
    col = top + (bottom - top) * t
    tgt += (col - tgt) * m
    return img


def mist(
    img: np.ndarray,
    rng: np.random.Generator,
    y: float,
    thickness: float,
    color: np.ndarray,
    strength: float = 0.5,
    streaks: float = 0.5,
) -> np.ndarray:
    """A soft horizontal band of mist centred on row y (pixels), streaky along x."""
    h, w = img.shape[:2]
    lh, lw = _small(h, w)
    n = value_noise(rng, lh, lw, cells=7, octaves=3, stretch=3.0)
    rows = (np.arange(lh, dtype=F32) + 0.5) * (h / lh)
    band = np.exp(-(((rows - y) / max(thickness, 1.0)) ** 2))[:, None]
    a = np.clip(band * (1 - streaks + streaks * 1.6 * n) * strength, 0, 1).astype(F32)
    y0, y1 = int(max(0, (y - 2.5 * thickness) * lh / h)), int(min(lh, (y + 2.5 * thickness) * lh / h + 1))
    if y1 <= y0:
        return img
    Y0, Y1 = round(y0 * h / lh), round(y1 * h / lh)
    if Y1 <= Y0:
        return img
    up = cv2.resize(a[y0:y1], (w, Y1 - Y0), interpolation=cv2.INTER_LINEAR)[..., None]
    tgt = img[Y0:Y1]
    tgt += (np.asarray(color, F32) - tgt) * up
    return img


def stars(
    img: np.ndarray,
    rng: np.random.Generator,
    count: int,
    y_max: float,
    color: np.ndarray,
    brightness: float = 1.0,
) -> np.ndarray:
    """Scatter `count` small stars of varied brightness above row y_max (pixels), softened to sub-pixel dots."""
    h, w = img.shape[:2]
    y_max = int(np.clip(y_max, 1, h))
    field = np.zeros((y_max, w), F32)
    xs = rng.integers(0, w, count)
    ys = (rng.random(count) ** 1.3 * y_max).astype(np.int64).clip(0, y_max - 1)
    field[ys, xs] = (rng.random(count, dtype=F32) ** 3) * 255 * brightness
    u = min(h, w) / 1080
    field = cv2.GaussianBlur(field, (0, 0), max(0.5, 0.8 * u)) * F32(2.5 + 4 * u)
    img[:y_max] += np.minimum(field, 255)[..., None] * (np.asarray(color, F32) / 255)
    return img


def finish(img: np.ndarray, rng: np.random.Generator, grain: float = 3.0, vignette: float = 0.35) -> np.ndarray:
    """Film grain and a vignette, then clip to a uint8 H×W×3 picture."""
    h, w = img.shape[:2]
    if vignette > 0:
        lh, lw = _small(h, w, 1 / 8)
        ny = ((np.arange(lh, dtype=F32) + 0.5) / lh - 0.5)[:, None]
        nx = ((np.arange(lw, dtype=F32) + 0.5) / lw - 0.5)[None, :]
        v = 1 - vignette * np.clip(np.sqrt((nx * 1.1) ** 2 + (ny * 1.3) ** 2) - 0.3, 0, 1) ** 1.2 * 2.2
        img *= upscale(np.clip(v, 0, 1).astype(F32), h, w)[..., None]
    if grain > 0:
        img += rng.standard_normal((h, w), dtype=F32)[..., None] * F32(grain)
    np.clip(img, 0, 255, out=img)
    return (img + 0.5).astype(np.uint8)


def bezier(points: Sequence[Sequence[float]], n: int = 48) -> np.ndarray:
    """Points along a Bézier curve through the given control points (any degree): (n, 2) float array."""
    p = np.asarray(points, np.float64)
    t = np.linspace(0, 1, n)[:, None, None]
    pts = np.broadcast_to(p, (n, *p.shape)).copy()
    while pts.shape[1] > 1:
        pts = pts[:, :-1] * (1 - t) + pts[:, 1:] * t
    return pts[:, 0]


def cloud_field(
    img: np.ndarray,
    rng: np.random.Generator,
    y0: float,
    y1: float,
    cover: float,
    dark: np.ndarray,
    lit: np.ndarray,
    opacity: float = 1.0,
    cells: float = 3.0,
    stretch: float = 2.5,
    soft: float = 0.2,
) -> np.ndarray:
    """Soft cloud masses between rows y0 and y1 (pixels): thresholded noise, lit on top and darker beneath."""
    h, w = img.shape[:2]
    lh, lw = _small(h, w)
    n = value_noise(rng, lh, lw, cells, octaves=5, stretch=stretch)
    rows = (np.arange(lh, dtype=F32) + 0.5) * F32(h / lh)
    span = max(y1 - y0, 1.0)
    env = (smoothstep(y0, y0 + 0.3 * span, rows) * (1 - smoothstep(y1 - 0.4 * span, y1, rows)))[:, None]
    thr = 1 - cover * 0.9 - 0.05
    dens = smoothstep(thr, thr + soft, n * (0.55 + 0.45 * env)) * env
    shift = max(1, lh // 40)
    above = np.vstack([np.zeros((shift, lw), F32), dens[:-shift]])
    light = np.clip(0.45 + 2.2 * (dens - above) + 0.25 * (1 - dens), 0, 1)[..., None]
    col = np.asarray(dark, F32) + (np.asarray(lit, F32) - np.asarray(dark, F32)) * light
    a = (dens * F32(opacity))[..., None]
    r0, r1 = int(max(0, y0 * lh / h - 1)), int(min(lh, y1 * lh / h + 2))
    if r1 <= r0:
        return img
    Y0, Y1 = round(r0 * h / lh), min(h, round(r1 * h / lh))
    if Y1 <= Y0:
        return img
    rgba = cv2.resize(np.concatenate([col * a, a], axis=2)[r0:r1], (w, Y1 - Y0), interpolation=cv2.INTER_LINEAR)
    tgt = img[Y0:Y1]
    tgt *= 1 - rgba[..., 3:]
    tgt += rgba[..., :3]
    return img


def _shifted(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """a sampled at (x + dx, y + dy), zero outside."""
    out = np.zeros_like(a)
    h, w = a.shape[:2]
    if abs(dx) >= w or abs(dy) >= h:
        return out
    ys_d, ys_s = slice(max(0, -dy), h - max(0, dy)), slice(max(0, dy), h - max(0, -dy))
    xs_d, xs_s = slice(max(0, -dx), w - max(0, dx)), slice(max(0, dx), w - max(0, -dx))
    out[ys_d, xs_d] = a[ys_s, xs_s]
    return out


def billows(rng: np.random.Generator, height: int, width: int, cells: float, octaves: int = 4) -> np.ndarray:
    """Billow noise in about 0..1 (H×W float32): |2n − 1| of smooth noise, octave on octave, so its bumps are
    rounded and the creases between them sharp, like the heads of a cumulus."""
    out = np.zeros((height, width), F32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        cx = max(2, round(cells * 2**o))
        cy = max(2, round(cells * 2**o * height / max(width, 1)))
        grid = rng.random((cy + 1, cx + 1), dtype=F32)
        n = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
        out += F32(amp) * np.abs(n * 2 - 1)
        total += amp
        amp *= 0.5
    return out / F32(total)


def cloud_mass(
    img: np.ndarray,
    rng: np.random.Generator,
    blobs: Sequence[tuple[float, float, float, float]],
    shadow: np.ndarray,
    lit: np.ndarray,
    toward: tuple[float, float] = (-0.3, -1.0),
    opacity: float = 1.0,
    base: float | None = None,
    rough: float = 0.8,
    haze: tuple[np.ndarray, float] | None = None,
    under: np.ndarray | None = None,
    glow_from: tuple[np.ndarray, float] | None = None,
    glow_reach: float = 0.5,
    relief: float = 0.2,
    scale_: float = 0.35,
) -> np.ndarray:
    """Soft billowing clouds (or smoke) around (x, y, rx, ry) puffs, lit from one side and shading themselves.

    The puffs only shape an envelope; billow noise breaks it into rounded heads and wisps, so no circle shows.
    Each head is lit on its side toward the light (`toward`: direction to the light in screen axes) and the
    whole mass darkens away from it, from `lit` down to `shadow`. A flat `base` row (if given) cuts the
    underside, which sinks toward `under`; `glow_from` (colour, strength) lights the lower `glow_reach` of the
    mass from below instead, as lava or a city does; `relief` keeps the heads visible in shade; `haze` (colour,
    amount) fades distant clouds into the sky. Computed small, scaled up.
    """
    if not blobs:
        return img
    h, w = img.shape[:2]
    lh, lw = _small(h, w, scale_)
    sx, sy = lw / w, lh / h
    b = np.asarray(blobs, np.float64)
    mean_r = float(np.mean(b[:, 2:4]))
    pad = 0.35 * mean_r
    X0 = int(max(0, np.floor(((b[:, 0] - b[:, 2]).min() - pad) * sx)))
    X1 = int(min(lw, np.ceil(((b[:, 0] + b[:, 2]).max() + pad) * sx) + 1))
    Y0 = int(max(0, np.floor(((b[:, 1] - b[:, 3]).min() - pad) * sy)))
    Y1 = int(min(lh, np.ceil(((b[:, 1] + b[:, 3]).max() + pad) * sy) + 1))
    if base is not None:
        Y1 = int(min(Y1, np.ceil(base * sy) + 2))
    bw, bh = X1 - X0, Y1 - Y0
    if bw < 2 or bh < 2:
        return img
    gx = ((np.arange(X0, X1, dtype=F32) + 0.5) / sx)[None, :]
    gy = ((np.arange(Y0, Y1, dtype=F32) + 0.5) / sy)[:, None]
    # Envelope: a smooth union of the puffs' (1 - d²) fields, about 1 at their centres and 0 on their rims.
    k = F32(4.0)
    acc = np.full((bh, bw), np.exp(-k * 1.5), F32)
    for x, y, rx, ry in b:
        a0, a1 = int(max(X0, (x - 1.6 * rx) * sx)) - X0, int(min(X1, (x + 1.6 * rx) * sx + 2)) - X0
        c0, c1 = int(max(Y0, (y - 1.6 * ry) * sy)) - Y0, int(min(Y1, (y + 1.6 * ry) * sy + 2)) - Y0
        if a1 <= a0 or c1 <= c0:
            continue
        d = ((gx[:, a0:a1] - F32(x)) / F32(rx)) ** 2 + ((gy[c0:c1] - F32(y)) / F32(ry)) ** 2
        acc[c0:c1, a0:a1] += np.exp(k * (1 - np.minimum(d, 2.5)))
    env = np.log(acc) / k
    # Billows at about a third of a puff and finer, which make the outline and the heads inside it.
    cells = max(2.0, bw / max(mean_r * sx * 0.6, 1.0))
    bil = billows(rng, bh, bw, cells, octaves=3)
    dens = env + F32(rough) * (bil - 0.35)
    if base is not None:
        dens -= F32(2.0) * smoothstep(base - 0.06 * mean_r, base + 0.01 * mean_r, gy)
    alpha = smoothstep(0.0, 0.12, dens)
    # Light: each head's slope toward the light, and how much cloud lies between it and the light.
    t = np.hypot(*toward) or 1.0
    lx, ly = toward[0] / t, toward[1] / t
    r_s = mean_r * sx
    hgt = cv2.GaussianBlur(np.clip(dens, 0, 1.0).astype(F32), (0, 0), max(0.7, 0.07 * r_s)) * F32(0.7 * r_s)
    dy, dx = np.gradient(hgt)
    lam = np.clip((-dx * lx - dy * ly) + 0.45, 0, 1.5) / np.sqrt(dx * dx + dy * dy + 1)
    step = max(1.0, 0.3 * r_s)
    m = int(np.ceil(5 * step)) + 1  # cloud cut off by the frame goes on beyond it
    thick = np.pad(cv2.GaussianBlur(np.clip(dens * 2, 0, 1).astype(F32), (0, 0), 0.5 * step), m, mode="edge")
    depth = np.zeros_like(thick)
    for i in range(1, 6):
        depth += _shifted(thick, round(lx * step * i), round(ly * step * i)) * F32(0.2)
    trans = np.exp(-F32(1.0) * depth[m:-m, m:-m])
    light = np.clip(trans * (0.25 + 0.75 * lam) + F32(relief) * lam, 0, 1)
    col = np.asarray(shadow, F32) + (np.asarray(lit, F32) - np.asarray(shadow, F32)) * light[..., None]
    y_top = float((b[:, 1] - b[:, 3]).min())
    y_bot = float(base if base is not None else (b[:, 1] + b[:, 3]).max())
    rel = (gy - y_top) / max(y_bot - y_top, 1.0)
    if under is not None:  # the underside in the mass's own shade
        low = smoothstep(0.5, 1.0, rel)
        col += (np.asarray(under, F32) - col) * (low * (1 - 0.5 * light) * F32(0.75))[..., None]
    if glow_from is not None:
        low = smoothstep(1 - glow_reach, 1.0, rel) ** 1.5 * (0.5 + 0.5 * lam)
        col += np.asarray(glow_from[0], F32) * (low * (1 - 0.5 * light) * F32(glow_from[1]))[..., None]
    if haze is not None:
        col += (np.asarray(haze[0], F32) - col) * F32(haze[1])
    a = (alpha * F32(opacity))[..., None]
    rgba = np.concatenate([col * a, a], axis=2)
    rgba = cv2.GaussianBlur(rgba, (0, 0), 0.6)
    FX0, FY0 = int(X0 / sx), int(Y0 / sy)
    FX1, FY1 = min(w, max(FX0 + 1, round(X1 / sx))), min(h, max(FY0 + 1, round(Y1 / sy)))
    up = cv2.resize(rgba, (FX1 - FX0, FY1 - FY0), interpolation=cv2.INTER_LINEAR)
    if up.ndim == 2:
        up = up[:, :, None]
    tgt = img[FY0:FY1, FX0:FX1]
    tgt *= 1 - up[..., 3:]
    tgt += up[..., :3]
    return img


def cumulus_blobs(
    rng: np.random.Generator, x: float, base: float, width: float, height: float, anvil: bool = False
) -> list[tuple[float, float, float, float]]:
    """Puffs for a heaped cumulus (or, with anvil, a thunderhead) standing on row `base`: a broad base row and
    smaller billows scattered inside a dome."""
    out = []
    r0 = min(height * 0.32, width * 0.18) * (0.6 if anvil else 1.0)
    n_base = max(3, int(width / max(r0, 1.0) * 0.8))
    for i in range(n_base):
        u = (i + 0.5) / n_base * 2 - 1
        r = r0 * rng.uniform(0.75, 1.05) * (1 - 0.3 * u * u)
        out.append((x + u * (width / 2 - r * 0.6), base - r * 0.55, r, r))
    top = height * (0.55 if anvil else 1.0)
    for _ in range(int((8 + 10 * height / max(width, 1.0)) * (2.5 if anvil else 1.0))):
        u = rng.uniform(-1, 1)
        v = rng.uniform(0, 1) ** 0.8 * (1 - u * u) ** 0.6
        r = r0 * rng.uniform(0.55, 1.0) * (1 - 0.35 * v)
        out.append((x + u * (width / 2 - r) * (0.85 if not anvil else 0.7), base - r * 0.6 - v * (top - r * 1.2), r, r))
    if anvil:
        col = width * 0.3
        for _ in range(8):
            v = rng.uniform(0.45, 0.85)
            r = r0 * rng.uniform(0.6, 0.9)
            out.append((x + rng.normal(0, 0.25) * col, base - v * height, r, r))
        for i in range(7):
            u = (i + 0.5) / 7 * 2 - 1
            out.append(
                (
                    x + width * (0.1 + 0.65 * u),
                    base - height * (0.93 - 0.03 * abs(u)),
                    width * 0.15,
                    height * (0.07 - 0.03 * abs(u)),
                )
            )
    return out


def cirrus(
    img: np.ndarray,
    rng: np.random.Generator,
    y0: float,
    y1: float,
    color: np.ndarray,
    strength: float = 0.5,
    cover: float = 0.45,
    slant: float = 0.0,
) -> np.ndarray:
    """Thin wind-combed streaks of high cloud between rows y0 and y1 (pixels), optionally slanted."""
    h, w = img.shape[:2]
    lh, lw = _small(h, w, 0.5)
    n = value_noise(rng, lh, lw, 5, octaves=4, gain=0.6, stretch=7.0)
    if slant:
        m = np.float32([[1, 0, 0], [slant * lh / lw, 1, -slant * lh / 2 * lh / lw]])
        n = cv2.warpAffine(n, m, (lw, lh), borderMode=cv2.BORDER_REFLECT)
    rows = (np.arange(lh, dtype=F32) + 0.5) * F32(h / lh)
    span = max(y1 - y0, 1.0)
    env = (smoothstep(y0, y0 + 0.3 * span, rows) * (1 - smoothstep(y1 - 0.4 * span, y1, rows)))[:, None]
    thr = 1 - cover
    a = smoothstep(thr - 0.05, thr + 0.18, n) * env * F32(strength)
    r0, r1 = int(max(0, y0 * lh / h - 1)), int(min(lh, y1 * lh / h + 2))
    Y0, Y1 = round(r0 * h / lh), min(h, round(r1 * h / lh))
    if r1 <= r0 or Y1 <= Y0:
        return img
    up = cv2.resize(a[r0:r1], (w, Y1 - Y0), interpolation=cv2.INTER_LINEAR)[..., None]
    tgt = img[Y0:Y1]
    tgt += (np.asarray(color, F32) - tgt) * up
    return img
