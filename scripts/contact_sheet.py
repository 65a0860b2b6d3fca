"""Draw the contact sheet the README shows: the offline picture of each scene of the example spec
(specs/examples/volcano-script.yaml), with its family and what the scene shows.

Run: `.venv/bin/python scripts/contact_sheet.py` (writes docs/contact-sheet.jpg). The pictures are the
ones a build draws: the lock's scenes, their families chosen by meaning, the style's palette, at the
frame size, then scaled down into a 3 x 2 grid.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from autostream_compiler.expand import resolve  # noqa: E402
from autostream_compiler.providers import families, procedural  # noqa: E402
from autostream_compiler.render.captions import FONTS_DIR  # noqa: E402

TILE = (480, 270)
TEXT_HEIGHT = 64
GAP = 12


EXAMPLE = ROOT / "specs" / "examples" / "volcano-script.yaml"


def main(spec: Path = EXAMPLE, out: Path = ROOT / "docs" / "contact-sheet.jpg") -> None:
    """Write the contact sheet of `spec`'s offline pictures to `out`."""
    graph = resolve(spec, write=False).graph  # the lock as it is: the sheet never rewrites it
    scenes = graph.scenes
    chosen = families.choose_all([(s.visual, s.narration) for s in scenes])
    columns = 3
    rows = -(-len(scenes) // columns)
    sheet = Image.new("RGB", (columns * (TILE[0] + GAP) + GAP, rows * (TILE[1] + TEXT_HEIGHT + GAP) + GAP), "#111111")
    draw = ImageDraw.Draw(sheet)
    bold = ImageFont.truetype(str(FONTS_DIR / "Inter-Bold.otf"), 17)
    plain = ImageFont.truetype(str(FONTS_DIR / "NotoSans-Bold.ttf"), 13)
    for n, (scene, family) in enumerate(zip(scenes, chosen, strict=True)):
        picture = procedural.draw(family, scene.image.seed, graph.palette, graph.format.width, graph.format.height)
        x = GAP + (n % columns) * (TILE[0] + GAP)
        y = GAP + (n // columns) * (TILE[1] + TEXT_HEIGHT + GAP)
        sheet.paste(picture.resize(TILE, Image.LANCZOS), (x, y))
        draw.text((x, y + TILE[1] + 6), f"{n + 1}. {family}", font=bold, fill="#FFFFFF")
        line = textwrap.shorten(scene.visual, 68, placeholder="…")
        draw.text((x, y + TILE[1] + 30), line, font=plain, fill="#BBBBBB")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, quality=88, optimize=True)
    print(f"{out}: {', '.join(chosen)}")


if __name__ == "__main__":
    main()
