"""Documents a spec cites (PDF, Markdown, HTML, plain text, local or by URL): their text by page, their
headings, and the passages they are cut into for retrieval."""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from autostream_compiler.digests import file_digest
from autostream_compiler.env import public_url
from autostream_compiler.errors import UserError

MAX_PAGES = 500  # pages read from one document without (or within) a `pages:` selection
FETCH_TIMEOUT = 30.0  # seconds for a URL source
MAX_DOWNLOAD = 200 * 2**20  # a fetched document is streamed to disk and refused past this

KINDS = {
    ".pdf": "pdf",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".txt": "text",
    ".text": "text",
}
_NAMES = {"pdf": "a PDF", "markdown": "Markdown", "html": "an HTML page", "text": "plain text"}
_SUFFIX = {"pdf": ".pdf", "markdown": ".md", "html": ".html", "text": ".txt"}
_MIME_SUFFIX = {
    "application/pdf": ".pdf",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
}
_MAGIC = (  # binary files people mistake for documents
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"RIFF", "a RIFF file (WebP image or WAV audio)"),
    (b"PK\x03\x04", "a ZIP archive (a .docx, .epub or .odt?)"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"{\\rtf", "an RTF document"),
)


@dataclass(frozen=True)
class SourceRef:
    """One entry of a spec's `sources`: a path (relative to the spec) or an http(s) URL, and its pages."""

    file: str
    pages: str | None = None  # "3-12", "5", "1-3,7" (1-based, inclusive)


@dataclass(frozen=True)
class Page:
    """The text of one page (1-based); paragraphs separated by blank lines. Non-paged documents: page 1."""

    number: int
    text: str


@dataclass(frozen=True)
class Heading:
    """A section title (PDF outline entry or Markdown/HTML heading) and the page it starts on."""

    level: int
    title: str
    page: int


@dataclass
class Document:
    """A document as read: its selected pages, its headings and the bytes' digest."""

    file: str  # as written in the spec
    path: Path  # the local file (for a URL: the downloaded copy)
    digest: str  # sha256 of the bytes
    kind: str  # "pdf" | "markdown" | "html" | "text"
    pages: list[Page]  # only the selected pages, in order
    headings: list[Heading]  # headings on the selected pages (and the one the selection starts under)
    blank_pages: list[int] = field(default_factory=list)  # selected PDF pages with no text layer (skipped)


@dataclass(frozen=True)
class Passage:
    """A short run of a document's text under one heading on one page: what retrieval finds and scenes cite."""

    id: str  # "<stem>-p<page>-<n>"
    file: str  # as written in the spec
    page: int  # 1-based
    heading: str | None
    text: str


# ---------------------------------------------------------------------------------------------- reading


def read_document(spec_dir: Path, ref: SourceRef, download_dir: Path | None = None) -> Document:
    """Read one source of a spec: its selected pages' text and its headings; one UserError line for a
    missing, disguised, encrypted, scanned, empty or too long document, a bad `pages` or a failed download."""
    name = ref.file
    if is_url(name):
        if download_dir is None:
            raise ValueError("read_document needs a download_dir for a URL source")
        path = fetch(name, download_dir)
        expected = KINDS.get(path.suffix)
    else:
        path = local_path(spec_dir, name)
        suffix = path.suffix.lower()
        expected = KINDS.get(suffix)
        if suffix and expected is None:
            raise UserError(
                f"{name}: cannot read {suffix} files as a source; give a PDF, Markdown (.md), HTML or text (.txt) file"
            )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{name}: cannot read it ({exc.strerror or exc}); check the file's permissions") from None
    kind = sniff_kind(name, data, expected)
    digest = file_digest(path)
    if kind == "pdf":
        return _read_pdf(name, path, digest, ref.pages)
    text = data.decode("utf-8-sig")
    if kind == "markdown":
        pages, headings = [markdown_text(text)], markdown_headings(text)
    elif kind == "html":
        parsed = html_text(text)
        pages, headings = [parsed[0]], parsed[1]
    else:
        pages, headings = [plain_text(text)], []
    if not pages[0].strip():
        raise UserError(f"{name} is empty (no text in it); add text to it or remove it from sources")
    select_pages(name, ref.pages, 1)  # a non-paged document is page 1: "1" is the only valid selection
    return Document(name, path, digest, kind, [Page(1, pages[0])], headings)


def is_url(file: str) -> bool:
    """Whether a source names an http(s) URL rather than a file."""
    return file.startswith(("http://", "https://"))


def local_path(spec_dir: Path, file: str) -> Path:
    """A source path resolved against the spec's folder; refused when it leaves that folder or is missing."""
    root = Path(spec_dir).resolve()
    path = (root / file).resolve()
    if not path.is_relative_to(root):
        raise UserError(f"{file}: outside the spec's folder {root}; copy the document next to the spec")
    if not path.is_file():
        what = "is a folder" if path.is_dir() else f"no such file in {root}"
        raise UserError(f"{file}: {what}; check the path (relative to the spec)")
    return path


def sniff_kind(name: str, data: bytes, expected: str | None) -> str:
    """The kind of document these bytes are ("pdf", "html", "markdown", "text"), checked against the kind
    its extension promises (`expected`, None for no extension): a mismatch is one UserError line."""
    actual = _sniff(data, pdf_anywhere=expected == "pdf")
    if actual is None or actual.startswith(("a ", "an ", "not ")):
        found = actual or "not UTF-8 text"
        promised = _NAMES[expected] if expected else "a PDF, Markdown, HTML or text document"
        fix = "save it as UTF-8 text" if found == "not UTF-8 text" and expected != "pdf" else "give the real document"
        raise UserError(f"{name} is {found}, not {promised}; {fix}")
    if expected is None:
        return actual
    if actual == "pdf" and expected != "pdf":
        raise UserError(f"{name} is a PDF, not {_NAMES[expected]}; rename it to {_renamed(name, 'pdf')}")
    if expected == "pdf" and actual != "pdf":
        raise UserError(
            f"{name} is {_NAMES[actual]}, not a PDF; rename it to {_renamed(name, actual)} or give the real PDF"
        )
    if actual == "html" and expected in ("markdown", "text"):
        raise UserError(f"{name} is an HTML page, not {_NAMES[expected]}; rename it to {_renamed(name, 'html')}")
    return expected


def _sniff(data: bytes, pdf_anywhere: bool = False) -> str | None:
    """The kind of a document's bytes: "pdf", "html" or "text"; a phrase ("a PNG image") for known binaries;
    None otherwise. A PDF starts with %PDF- (or, `pdf_anywhere`, has it in its first 1024 bytes, as readers allow)."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-") or (pdf_anywhere and b"%PDF-" in data[:1024]):
        return "pdf"
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return what
    head = data[:4096]
    if b"\x00" in head:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    start = text.lstrip()[:512].lower()
    if start.startswith(("<!doctype html", "<html", "<?xml")) and ("<html" in text[:4096].lower()):
        return "html"
    if start.startswith(("<!doctype html", "<html", "<head", "<body")):
        return "html"
    return "text"


def _renamed(name: str, kind: str) -> str:
    """The source's file name with the extension of `kind`."""
    base = PurePosixPath(urlparse(name).path if is_url(name) else name).name or "document"
    return str(PurePosixPath(base).with_suffix(_SUFFIX[kind]))


# ---------------------------------------------------------------------------------------------- pages


def parse_pages(text: str, total: int) -> list[int]:
    """The 1-based page numbers a `pages` value selects ("3-12", "5", "1-3,7"), in order, without repeats;
    ValueError (a readable phrase) for bad syntax or pages outside 1..total."""
    chosen: list[int] = []
    spec = str(text).strip()
    if not spec:
        raise ValueError('an empty range; write pages like "3-12", "5" or "1-3,7"')
    for part in spec.split(","):
        match = re.fullmatch(r"\s*(\d+)\s*(?:[-\u2013]\s*(\d+)\s*)?", part)
        if not match:
            raise ValueError(f'"{part.strip()}" is not a page range; write pages like "3-12", "5" or "1-3,7"')
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if first < 1 or last < first:
            raise ValueError(f'"{part.strip()}" is not a page range (pages count from 1, low to high)')
        if last > total:
            pages = "1 page" if total == 1 else f"{total} pages"
            raise ValueError(f'"{part.strip()}" is outside the document: it has {pages}; choose pages within 1-{total}')
        chosen.extend(n for n in range(first, last + 1) if n not in chosen)
    return chosen


def select_pages(name: str, pages: str | None, total: int) -> list[int]:
    """The pages to read from a document of `total` pages: all when `pages` is None; UserError lines for a
    bad range or too many pages."""
    if total == 0:
        raise UserError(f"{name} is empty (no pages); give a document with text or remove it from sources")
    if pages is None:
        if total > MAX_PAGES:
            last = min(200, MAX_PAGES)
            raise UserError(
                f'{name} has {total} pages; choose some (at most {MAX_PAGES}): {{path: {name}, pages: "1-{last}"}}'
            )
        return list(range(1, total + 1))
    try:
        chosen = parse_pages(pages, total)
    except ValueError as exc:
        raise UserError(f"{name}: pages {exc}") from None
    if len(chosen) > MAX_PAGES:
        raise UserError(f'{name}: pages "{pages}" selects {len(chosen)} pages; choose at most {MAX_PAGES}')
    return chosen


def page_ranges(numbers: list[int]) -> str:
    """Page numbers written compactly: [1, 2, 3, 7] -> "1-3, 7"."""
    runs: list[list[int]] = []
    for n in sorted(set(numbers)):
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


# ---------------------------------------------------------------------------------------------- PDF


def _read_pdf(name: str, path: Path, digest: str, pages: str | None) -> Document:
    """A PDF's selected pages (pypdfium2 text layer) and outline (pypdf)."""
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise UserError(
                f"{name} is encrypted (it needs a password); "
                "save an unencrypted copy (e.g. qpdf --decrypt) and use that"
            ) from None
        raise UserError(f"{name}: cannot read this PDF ({exc}); re-export or repair it (e.g. qpdf)") from None
    try:
        selected = select_pages(name, pages, len(pdf))
        texts: list[Page] = []
        blank: list[int] = []
        for number in selected:
            page = pdf[number - 1]
            textpage = page.get_textpage()
            lines = pdf_lines(textpage)
            textpage.close()
            page.close()
            text = pdf_page_text(lines)
            if text:
                texts.append(Page(number, text))
            else:
                blank.append(number)
    finally:
        pdf.close()
    if not texts:
        raise UserError(
            f"{name}: no text layer on pages {page_ranges(blank)} (a scanned PDF?); run OCR on it first "
            "(e.g. ocrmypdf) or give the text as Markdown"
        )
    headings = _selected_headings(pdf_outline(path), selected)
    return Document(name, path, digest, "pdf", texts, headings, blank)


def pdf_outline(path: Path) -> list[Heading]:
    """A PDF's outline (bookmarks) as headings with 1-based pages, in document order; [] when it has none
    or it cannot be read."""
    import pypdf

    try:
        reader = pypdf.PdfReader(str(path))
        if reader.is_encrypted:
            reader.decrypt("")
        outline = reader.outline
    except Exception:  # a broken or exotic outline costs the headings, not the document
        return []
    headings: list[Heading] = []

    def walk(items, level: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, level + 1)
                continue
            try:
                index = reader.get_destination_page_number(item)
            except Exception:
                continue
            title = normalise(str(item.title or ""))
            if title and index is not None and index >= 0:
                headings.append(Heading(level, title, index + 1))

    walk(outline, 1)
    return headings


def _selected_headings(headings: list[Heading], selected: list[int]) -> list[Heading]:
    """The headings on the selected pages, and the last one before the first selected page (the section
    the selection starts in)."""
    chosen = set(selected)
    first = min(selected)
    before = [h for h in headings if h.page < first]
    inside = [h for h in headings if h.page in chosen]
    return ([before[-1]] if before else []) + inside


_SOFT_HYPHENS = ("\x02", "\xad", "\ufffe")  # how pdfium marks a word hyphenated at a line end
_LINE_END = re.compile(r"[.!?:;][\"'\u201d\u2019)\]]*$")


def pdf_lines(textpage) -> list[tuple[str, float | None, float | None]]:
    """A pdfium text page's lines with the bottom and top of each line's box (None when pdfium's text and
    character indices do not line up)."""
    raw = textpage.get_text_range()
    lines = raw.split("\r\n")
    if textpage.count_chars() != len(raw):
        return [(line, None, None) for line in lines]
    out: list[tuple[str, float | None, float | None]] = []
    position = 0
    for line in lines:
        first = position + len(line) - len(line.lstrip())
        if line.strip():
            _, bottom, _, top = textpage.get_charbox(first, loose=True)
            out.append((line, bottom, top))
        else:
            out.append((line, None, None))
        position += len(line) + 2
    return out


def pdf_page_text(lines: list[tuple[str, float | None, float | None]]) -> str:
    """A PDF page's lines (text, bottom, top) as paragraphs: a paragraph ends at a blank line, a gap above
    the next line of more than half a line (or a jump up to the next column), a short line, or a line
    that ends a sentence short of the full width. Soft-hyphenated line ends are joined."""
    rows: list[tuple[str, float | None, float | None]] = []
    for raw, bottom, top in lines:
        for n, part in enumerate(raw.replace("\r", "\n").split("\n")):
            rows.append((part.strip(), bottom if n == 0 else None, top if n == 0 else None))
    longest = max((len(text) for text, _, _ in rows), default=0)
    paragraphs: list[list[str]] = [[]]
    previous: tuple[float | None, float | None] = (None, None)
    for text, bottom, top in rows:
        if not text:
            if paragraphs[-1]:
                paragraphs.append([])
            continue
        last_bottom, last_top = previous
        if paragraphs[-1] and None not in (bottom, top, last_bottom, last_top):
            height = min(top - bottom, last_top - last_bottom)
            gap = last_bottom - top
            if gap > 0.5 * height or gap < -1.5 * height:
                paragraphs.append([])
        previous = (bottom, top)
        if paragraphs[-1] and paragraphs[-1][-1].endswith(_SOFT_HYPHENS):
            paragraphs[-1][-1] = paragraphs[-1][-1][:-1] + text  # pdfium's soft hyphen at a line end
        else:
            paragraphs[-1].append(text)
        if text.endswith(_SOFT_HYPHENS):
            continue
        if len(text) < 0.7 * longest or (_LINE_END.search(text) and len(text) < 0.9 * longest):
            paragraphs.append([])
    return "\n\n".join(p for p in (normalise("\n".join(lines)) for lines in paragraphs) if p)


# ---------------------------------------------------------------------------------------------- text kinds


def normalise(text: str) -> str:
    """Text with hyphenated line breaks joined, line breaks and runs of spaces collapsed to one space,
    ligatures spelled out and control characters dropped (one paragraph's worth)."""
    text = re.sub(r"[\ufb00-\ufb06]", lambda m: unicodedata.normalize("NFKC", m[0]), text)
    text = re.sub(r"(\w)[-\xad\x02]\s*\n\s*([a-z])", r"\1\2", text)
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f\xad\ufffe\ufeff]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def paragraphs_of(text: str) -> list[str]:
    """Blank-line separated paragraphs of a text, each normalised, empty ones dropped."""
    blocks = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    return [p for p in (normalise(b) for b in blocks) if p]


def plain_text(text: str) -> str:
    """A plain text file's paragraphs, one blank line between them."""
    return "\n\n".join(paragraphs_of(text))


_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")


def _markdown_blocks(text: str) -> list[tuple[int, str]]:
    """Markdown as blocks: (heading level, title) or (0, paragraph text), inline syntax stripped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[0].strip() == "---":  # YAML front matter
        for end in range(1, len(lines)):
            if lines[end].strip() in ("---", "..."):
                lines = lines[end + 1 :]
                break
    blocks: list[tuple[int, str]] = []
    current: list[str] = []
    fenced = False

    def flush() -> None:
        if current:
            paragraph = _inline(normalise("\n".join(current)))
            if paragraph:
                blocks.append((0, paragraph))
            current.clear()

    for line in lines:
        if _FENCE.match(line):
            flush()
            fenced = not fenced
            continue
        if fenced:
            current.append(line)
            continue
        heading = _ATX.match(line)
        if heading:
            flush()
            blocks.append((len(heading[1]), _inline(normalise(heading[2]))))
            continue
        if re.fullmatch(r" {0,3}(=+|-+)\s*", line) and current and len(current) == 1 and line.strip():
            title = _inline(normalise(current[0]))  # a setext heading
            current.clear()
            blocks.append((1 if "=" in line else 2, title))
            continue
        if not line.strip() or re.fullmatch(r" {0,3}([-*_])(\s*\1){2,}\s*", line):
            flush()
            continue
        if _ITEM.match(line):
            flush()
            line = _ITEM.sub("", line, count=1)
        current.append(re.sub(r"^\s*>\s?", "", line).replace("|", " "))
    flush()
    return [(level, text) for level, text in blocks if text]


def _inline(text: str) -> str:
    """Markdown inline syntax removed: images, links (their text kept), emphasis, code ticks, HTML tags."""
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"<[^>\n]+>", "", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])", r"\1", text)
    text = text.replace("`", "")
    return re.sub(r"\s+", " ", text).strip()


def markdown_text(text: str) -> str:
    """A Markdown document's text: headings and paragraphs, one blank line between them."""
    return "\n\n".join(block for _, block in _markdown_blocks(text))


def markdown_headings(text: str) -> list[Heading]:
    """A Markdown document's headings (ATX and setext), all on page 1."""
    return [Heading(level, title, 1) for level, title in _markdown_blocks(text) if level]


_BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "section", "article", "main", "header", "footer",
    "aside", "nav", "blockquote", "pre", "table", "tr", "td", "th", "figure", "figcaption", "hr", "form",
    "address", "details", "summary", "caption", "body",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object"}


class _HTMLText(HTMLParser):
    """Collects an HTML page's headings (h1-h6) and paragraph text, skipping scripts, styles and the head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[int, str]] = []
        self.current: list[str] = []
        self.level = 0  # inside h<level>
        self.skipping = 0

    def flush(self) -> None:
        text = normalise(" ".join(self.current))
        self.current.clear()
        if text:
            self.blocks.append((self.level, text))

    def handle_starttag(self, tag, attrs) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.level = int(tag[1])
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_startendtag(self, tag, attrs) -> None:
        if tag in _BLOCK_TAGS:
            self.flush()

    def handle_endtag(self, tag) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self.flush()
            self.level = 0
        elif tag in _BLOCK_TAGS:
            self.flush()

    def handle_data(self, data) -> None:
        if not self.skipping:
            self.current.append(data)


def html_text(text: str) -> tuple[str, list[Heading]]:
    """An HTML page's text (headings and paragraphs, one blank line between them) and its headings."""
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser.flush()
    body = "\n\n".join(block for _, block in parser.blocks)
    return body, [Heading(level, title, 1) for level, title in parser.blocks if level]


# ---------------------------------------------------------------------------------------------- URLs


def fetch(url: str, download_dir: Path) -> Path:
    """A URL's bytes downloaded once into `download_dir` (keyed by the URL; a cached copy is used as is);
    one UserError line when it cannot be fetched."""
    import httpx

    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:24]
    suffix = PurePosixPath(urlparse(url).path).suffix.lower()
    suffix = suffix if suffix in KINDS else ""
    target = Path(download_dir) / f"{key}{suffix}"
    for cached in (target, *Path(download_dir).glob(f"{key}.*")) if suffix == "" else (target,):
        if cached.is_file() and not cached.name.endswith(".part"):
            return cached
    fix = "download it next to the spec and name the file"
    Path(download_dir).mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        with httpx.Client(timeout=FETCH_TIMEOUT, follow_redirects=True) as client:
            with client.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise UserError(f"cannot fetch {public_url(url)} (HTTP {response.status_code}); {fix}")
                if not suffix:  # no extension in the URL: the server's content type names the kind
                    mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                    target = target.with_suffix(_MIME_SUFFIX.get(mime, ""))
                got = 0
                with open(partial, "wb") as out:
                    for chunk in response.iter_bytes(1 << 20):
                        got += len(chunk)
                        if got > MAX_DOWNLOAD:
                            limit = (
                                f"{MAX_DOWNLOAD // 2**20} MB" if MAX_DOWNLOAD >= 2**20 else f"{MAX_DOWNLOAD // 1024} KB"
                            )
                            raise UserError(f"{public_url(url)} is larger than {limit}; {fix} (and choose `pages`)")
                        out.write(chunk)
        partial.replace(target)
    except httpx.TimeoutException:
        raise UserError(f"cannot fetch {public_url(url)} (no answer in {FETCH_TIMEOUT:.0f} s); {fix}") from None
    except httpx.HTTPError as exc:
        raise UserError(f"cannot fetch {public_url(url)} ({type(exc).__name__}); {fix}") from None
    except OSError as exc:
        raise UserError(f"cannot save {public_url(url)} into {download_dir} ({exc.strerror or exc}); {fix}") from None
    finally:
        partial.unlink(missing_ok=True)
    return target


# ---------------------------------------------------------------------------------------------- passages


def slug(text: str) -> str:
    """A lowercase ASCII slug for passage ids: "Annual Report (2024)" -> "annual-report-2024"."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "doc"


def document_stem(file: str) -> str:
    """The stem a source's passage ids start with: the file's (or URL path's) name without extension."""
    if is_url(file):
        parsed = urlparse(file)
        return slug(PurePosixPath(parsed.path).stem or parsed.hostname or "doc")
    return slug(PurePosixPath(file).stem)


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")


def split_long(paragraph: str, max_words: int) -> list[str]:
    """A paragraph cut at sentence ends into pieces of at most max_words words (a longer sentence is cut
    between words)."""
    if len(paragraph.split()) <= max_words:
        return [paragraph]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        words = sentence.split()
        if current and len(current) + len(words) > max_words:
            pieces.append(" ".join(current))
            current = []
        while len(words) > max_words:
            pieces.append(" ".join(words[:max_words]))
            words = words[max_words:]
        current.extend(words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk(document: Document, max_words: int = 120, stem: str | None = None) -> list[Passage]:
    """A document cut along headings and paragraphs into passages of at most max_words words, each on one
    page under one heading; small neighbouring paragraphs under the same heading are joined. Ids are
    "<stem>-p<page>-<n>" (n from 1 on each page): `stem` defaults to the file's slugified stem."""
    prefix = slug(stem) if stem else document_stem(document.file)
    by_page: dict[int, list[Heading]] = {}
    for heading in document.headings:
        by_page.setdefault(heading.page, []).append(heading)
    first_page = document.pages[0].number if document.pages else 1
    current = None
    for heading in document.headings:  # the section the selection starts in
        if heading.page < first_page:
            current = heading.title
    passages: list[Passage] = []
    for page in document.pages:
        paragraphs = page.text.split("\n\n")
        pending = list(by_page.get(page.number, []))
        keys = [_key(p) for p in paragraphs]
        unmatched = [h for h in pending if _key(h.title) not in keys]
        if unmatched:  # an outline entry whose title is not in the text: it starts at the top of its page
            current = unmatched[-1].title
            pending = [h for h in pending if h not in unmatched]
        units: list[tuple[str | None, list[str]]] = []  # (heading, words) per passage being built
        for n, (paragraph, key) in enumerate(zip(paragraphs, keys)):
            if pending and key == _key(pending[0].title):
                current = pending.pop(0).title
                continue
            if not paragraph.strip():
                continue
            if not document.headings and _heading_like(paragraph) and any(p.strip() for p in paragraphs[n + 1 :]):
                current = " ".join(paragraph.split())  # a document with no outline: its title lines
                continue
            for piece in split_long(paragraph, max_words):
                words = piece.split()
                if units and units[-1][0] == current and len(units[-1][1]) + len(words) <= max_words:
                    units[-1][1].extend(words)
                else:
                    units.append((current, words))
        for n, (heading, words) in enumerate(units, start=1):
            passages.append(
                Passage(f"{prefix}-p{page.number}-{n}", document.file, page.number, heading, " ".join(words))
            )
    return passages


def _heading_like(paragraph: str) -> bool:
    """A short line that ends no sentence and starts with a capital or a number: a section title."""
    words = paragraph.split()
    return (
        0 < len(words) <= 10
        and not re.search(r"[.!?,;:]$", paragraph.strip())
        and (words[0][:1].isupper() or words[0][:1].isdigit())
    )


def _key(text: str) -> str:
    """A heading or paragraph compared loosely: lowercase letters and digits only."""
    return re.sub(r"[\W_]+", "", text.lower())
