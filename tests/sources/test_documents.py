"""Reading sources: PDFs made with Chromium's print-to-PDF (text per page, outline, page selection), Markdown,
HTML and text, URLs from a local server, chunking into passages, and one clear line for each bad document."""

from __future__ import annotations

import shutil
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from helpers import LocalServer, print_pdf

from autostream_compiler.errors import UserError
from autostream_compiler.sources.documents import (
    Heading,
    SourceRef,
    chunk,
    normalise,
    parse_pages,
    pdf_page_text,
    plain_text,
    read_document,
)

pypdf = pytest.importorskip("pypdf")
pytest.importorskip("pypdfium2")

PAGES = [
    ("Introduction", "Tidal mills ground grain on the river estuary. The miller waited for the ebb tide."),
    ("Machinery", "The waterwheel turned a pair of millstones. Gears of oak and iron carried the power."),
    ("Decline", "Steam engines replaced the tide by eighteen hundred and ninety. Only one mill still turns."),
    ("Sources", "Parish records and the miller's ledger tell this story."),
]


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory) -> Path:
    """A folder with report.pdf (4 pages, one section each), outlined.pdf (the same with bookmarks) and
    encrypted.pdf; made once per module."""
    folder = tmp_path_factory.mktemp("pdfs")
    body = "".join(
        f'<section style="break-after: page"><h1>{title}</h1><p>{text}</p></section>' for title, text in PAGES
    )
    report = print_pdf(f"<html><body>{body}</body></html>", folder / "report.pdf")
    writer = pypdf.PdfWriter(clone_from=report)
    top = writer.add_outline_item(title="Introduction", page_number=0)
    writer.add_outline_item(title="Machinery", page_number=1, parent=top)
    writer.add_outline_item(title="Decline", page_number=2)
    writer.add_outline_item(title="Sources", page_number=3)
    writer.write(folder / "outlined.pdf")
    writer = pypdf.PdfWriter(clone_from=report)
    writer.encrypt("secret", algorithm="AES-128")
    writer.write(folder / "encrypted.pdf")
    return folder


def error_of(folder: Path, file: str, pages: str | None = None, **kwargs) -> str:
    """The one line read_document refuses a source with."""
    with pytest.raises(UserError) as caught:
        read_document(folder, SourceRef(file, pages), **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_pdf_gives_its_text_page_by_page(pdfs):
    document = read_document(pdfs, SourceRef("report.pdf"))
    assert document.kind == "pdf"
    assert [page.number for page in document.pages] == [1, 2, 3, 4]
    for page, (title, text) in zip(document.pages, PAGES):
        assert page.text == f"{title}\n\n{text}"
    assert document.blank_pages == []
    assert len(document.digest) == 64


def test_pages_select_a_range_and_single_pages(pdfs):
    document = read_document(pdfs, SourceRef("report.pdf", pages="2-3,1"))
    assert [page.number for page in document.pages] == [2, 3, 1]
    assert document.pages[0].text.startswith("Machinery")
    only = read_document(pdfs, SourceRef("report.pdf", pages="4"))
    assert [page.number for page in only.pages] == [4]


def test_the_outline_gives_headings_with_their_pages_and_levels(pdfs):
    document = read_document(pdfs, SourceRef("outlined.pdf"))
    assert document.headings == [
        Heading(1, "Introduction", 1),
        Heading(2, "Machinery", 2),
        Heading(1, "Decline", 3),
        Heading(1, "Sources", 4),
    ]
    selected = read_document(pdfs, SourceRef("outlined.pdf", pages="3"))
    assert [h.title for h in selected.headings] == ["Machinery", "Decline"]  # the section page 3 starts in, and its own


def test_passages_carry_page_heading_and_stable_ids(pdfs):
    document = read_document(pdfs, SourceRef("outlined.pdf"))
    passages = chunk(document)
    assert [(p.id, p.page, p.heading) for p in passages] == [
        ("outlined-p1-1", 1, "Introduction"),
        ("outlined-p2-1", 2, "Machinery"),
        ("outlined-p3-1", 3, "Decline"),
        ("outlined-p4-1", 4, "Sources"),
    ]
    assert passages[2].text == PAGES[2][1]
    assert passages[0].file == "outlined.pdf"
    assert chunk(read_document(pdfs, SourceRef("outlined.pdf"))) == passages
    assert chunk(document, stem="Outlined 2")[0].id == "outlined-2-p1-1"
    second = chunk(read_document(pdfs, SourceRef("outlined.pdf", pages="2")))
    assert [(p.id, p.heading, p.text) for p in second] == [("outlined-p2-1", "Machinery", PAGES[1][1])]


def test_pdf_paragraphs_follow_the_gaps_between_lines(tmp_path):
    first = "Information retrieval systems characteristically incorporate extraordinarily comprehensive indexes."
    second = "A second paragraph is long enough that it wraps over several lines of the narrow column."
    print_pdf(
        f'<body style="width: 260px; font-size: 14pt"><h1>Retrieval</h1><p>{first}</p><p>{second}</p></body>',
        tmp_path / "narrow.pdf",
    )
    document = read_document(tmp_path, SourceRef("narrow.pdf"))
    assert document.pages[0].text.split("\n\n") == ["Retrieval", first, second]
    soft = [("informa\x02", 700.0, 712.0), ("tion retrieval", 688.0, 700.0), ("Next", 660.0, 672.0)]
    assert pdf_page_text(soft) == "information retrieval\n\nNext"


def test_an_encrypted_pdf_is_one_line(pdfs):
    message = error_of(pdfs, "encrypted.pdf")
    assert message.startswith("encrypted.pdf is encrypted") and "unencrypted copy" in message


def test_a_scanned_pdf_is_one_line_and_a_partly_scanned_one_keeps_its_text(pdfs, tmp_path):
    from PIL import Image

    pages = [Image.new("RGB", (200, 260), "white") for _ in range(3)]
    pages[0].save(tmp_path / "scan.pdf", save_all=True, append_images=pages[1:])
    message = error_of(tmp_path, "scan.pdf")
    assert message == (
        "scan.pdf: no text layer on pages 1-3 (a scanned PDF?); run OCR on it first (e.g. ocrmypdf) "
        "or give the text as Markdown"
    )
    writer = pypdf.PdfWriter(clone_from=pdfs / "report.pdf")
    writer.append(tmp_path / "scan.pdf", pages=[0])
    writer.write(tmp_path / "mixed.pdf")
    document = read_document(tmp_path, SourceRef("mixed.pdf"))
    assert [page.number for page in document.pages] == [1, 2, 3, 4]
    assert document.blank_pages == [5]


def test_a_long_pdf_needs_pages(tmp_path):
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    for _ in range(1999):
        writer.insert_page(writer.pages[0])
    writer.write(tmp_path / "huge.pdf")
    assert error_of(tmp_path, "huge.pdf") == (
        'huge.pdf has 2000 pages; choose some (at most 500): {path: huge.pdf, pages: "1-200"}'
    )
    assert "selects 1000 pages; choose at most 500" in error_of(tmp_path, "huge.pdf", "1-1000")


def test_pages_outside_the_document_or_malformed_are_one_line(pdfs):
    message = error_of(pdfs, "report.pdf", "3-9")
    assert message == 'report.pdf: pages "3-9" is outside the document: it has 4 pages; choose pages within 1-4'
    assert "is not a page range" in error_of(pdfs, "report.pdf", "two")
    assert "low to high" in error_of(pdfs, "report.pdf", "3-2")


def test_parse_pages():
    assert parse_pages("3-5", 10) == [3, 4, 5]
    assert parse_pages("1-3,7", 10) == [1, 2, 3, 7]
    assert parse_pages(" 5 ", 5) == [5]
    assert parse_pages("2,1-3", 5) == [2, 1, 3]
    for bad in ("", "0", "4-11", "a-b", "1-"):
        with pytest.raises(ValueError):
            parse_pages(bad, 10)


def test_a_file_that_is_not_what_its_extension_says_is_one_line(pdfs, tmp_path):
    from PIL import Image

    (tmp_path / "page.pdf").write_text("<!doctype html><html><body><p>Login</p></body></html>")
    assert (
        error_of(tmp_path, "page.pdf")
        == "page.pdf is an HTML page, not a PDF; rename it to page.html or give the real PDF"
    )
    Image.new("RGB", (4, 4)).save(tmp_path / "notes.md", format="PNG")
    assert error_of(tmp_path, "notes.md") == "notes.md is a PNG image, not Markdown; give the real document"
    shutil.copy(pdfs / "report.pdf", tmp_path / "report.txt")
    assert error_of(tmp_path, "report.txt") == "report.txt is a PDF, not plain text; rename it to report.pdf"
    (tmp_path / "latin.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    assert error_of(tmp_path, "latin.txt") == "latin.txt is not UTF-8 text, not plain text; save it as UTF-8 text"
    (tmp_path / "deck.pptx").write_bytes(b"PK\x03\x04")
    assert "cannot read .pptx files as a source" in error_of(tmp_path, "deck.pptx")


def test_missing_outside_and_empty_documents_are_one_line(tmp_path):
    spec_dir = tmp_path / "project"
    spec_dir.mkdir()
    (tmp_path / "secret.md").write_text("# Secret\n")
    assert "check the path" in error_of(spec_dir, "gone.pdf")
    assert error_of(spec_dir, "../secret.md").startswith("../secret.md: outside the spec's folder")
    (spec_dir / "empty.md").write_text("\n\n  \n")
    assert (
        error_of(spec_dir, "empty.md") == "empty.md is empty (no text in it); add text to it or remove it from sources"
    )
    (spec_dir / "notes.md").write_text("Some text.")
    assert "it has 1 page" in error_of(spec_dir, "notes.md", "2")


def test_markdown_headings_and_paragraphs(tmp_path):
    (tmp_path / "notes.md").write_text(
        "---\ntitle: ignored\n---\n# Tidal mills\n\nThey ground **grain** with the [tide](https://x.org).\n"
        "Lines join.\n\n## How they worked\n\n- A pond filled at high tide.\n- The wheel turned at ebb.\n\n"
        "```\ncode stays\n```\n\nSetext title\n------------\n\nLast words.\n",
        encoding="utf-8",
    )
    document = read_document(tmp_path, SourceRef("notes.md"))
    assert document.kind == "markdown"
    assert document.headings == [
        Heading(1, "Tidal mills", 1),
        Heading(2, "How they worked", 1),
        Heading(2, "Setext title", 1),
    ]
    assert document.pages[0].text.split("\n\n") == [
        "Tidal mills",
        "They ground grain with the tide. Lines join.",
        "How they worked",
        "A pond filled at high tide.",
        "The wheel turned at ebb.",
        "code stays",
        "Setext title",
        "Last words.",
    ]
    passages = chunk(document)
    assert [(p.id, p.heading, p.text) for p in passages] == [
        ("notes-p1-1", "Tidal mills", "They ground grain with the tide. Lines join."),
        ("notes-p1-2", "How they worked", "A pond filled at high tide. The wheel turned at ebb. code stays"),
        ("notes-p1-3", "Setext title", "Last words."),
    ]


def test_html_headings_and_paragraphs_without_scripts(tmp_path):
    (tmp_path / "page.html").write_text(
        "<!doctype html><html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<h1>Mills</h1><p>The tide <b>turned</b> the wheel.</p><script>var x = 1;</script>"
        "<h2>Today</h2><div>One mill still turns &amp; grinds.</div></body></html>",
        encoding="utf-8",
    )
    document = read_document(tmp_path, SourceRef("page.html"))
    assert document.kind == "html"
    assert document.headings == [Heading(1, "Mills", 1), Heading(2, "Today", 1)]
    assert document.pages[0].text == "Mills\n\nThe tide turned the wheel.\n\nToday\n\nOne mill still turns & grinds."


def test_plain_text_whitespace_is_normalised(tmp_path):
    assert normalise("informa-\ntion  retrieval\n is   fun") == "information retrieval is fun"
    assert (
        plain_text("One  line\nand another.\n\n\n\nA new para-\ngraph.") == "One line and another.\n\nA new paragraph."
    )
    (tmp_path / "plain").write_text("No extension, but text.\n")
    assert read_document(tmp_path, SourceRef("plain")).kind == "text"
    (tmp_path / "about.md").write_text("# PDF\n\nA PDF file starts with %PDF-1.7 on its first line.\n")
    assert read_document(tmp_path, SourceRef("about.md")).kind == "markdown"


def test_long_paragraphs_are_cut_at_sentence_ends(tmp_path):
    sentences = [f"Sentence number {n} has exactly seven words." for n in range(1, 41)]  # 40 x 7 words
    (tmp_path / "long.txt").write_text(" ".join(sentences) + "\n\nA short one.\n\nAnother short one.\n")
    passages = chunk(read_document(tmp_path, SourceRef("long.txt")), max_words=50)
    sizes = [len(p.text.split()) for p in passages]
    assert max(sizes) <= 50
    assert all(p.text.endswith(".") for p in passages)
    assert sum(sizes) == 280 + 3 + 3
    assert passages[-1].text.endswith("Another short one.")  # tiny paragraphs merged into the last passage
    assert [p.id for p in passages] == [f"long-p1-{n}" for n in range(1, len(passages) + 1)]


class _Files(BaseHTTPRequestHandler):
    """Serves /paper.pdf (from the class's `pdf` bytes), /notes (Markdown) and 404 for anything else."""

    pdf = b""
    hits: list[str] = []

    def do_GET(self):  # noqa: N802
        self.hits.append(self.path)
        body = {"/paper.pdf": self.pdf, "/notes": b"# Notes\n\nFrom the web.\n"}.get(self.path.split("?")[0])
        self.send_response(200 if body is not None else 404)
        if self.path == "/notes":
            self.send_header("Content-Type", "text/markdown; charset=utf-8")
        self.end_headers()
        self.wfile.write(body or b"not found")

    def log_message(self, *args):
        pass


def test_a_url_is_fetched_once_into_the_download_folder(pdfs, tmp_path):
    _Files.pdf = (pdfs / "report.pdf").read_bytes()
    _Files.hits = []
    with LocalServer(_Files) as server:
        url = f"{server.root}/paper.pdf"
        document = read_document(tmp_path, SourceRef(url, pages="2"), download_dir=tmp_path / "downloads")
        assert document.file == url and document.kind == "pdf"
        assert document.path.parent == tmp_path / "downloads"
        assert document.pages[0].text.startswith("Machinery")
        assert chunk(document)[0].id == "paper-p2-1"
        again = read_document(tmp_path, SourceRef(url), download_dir=tmp_path / "downloads")
        assert again.digest == document.digest
        assert _Files.hits == ["/paper.pdf"]
        notes = read_document(tmp_path, SourceRef(f"{server.root}/notes"), download_dir=tmp_path / "downloads")
        assert notes.kind == "markdown" and notes.headings == [Heading(1, "Notes", 1)]
        missing = error_of(tmp_path, f"{server.root}/gone.pdf", download_dir=tmp_path / "downloads")
        assert (
            missing == f"cannot fetch {server.root}/gone.pdf (HTTP 404); download it next to the spec and name the file"
        )
    offline = error_of(tmp_path, f"{server.root}/other.pdf", download_dir=tmp_path / "downloads")
    assert offline.startswith(f"cannot fetch {server.root}/other.pdf (ConnectError")
    assert offline.endswith("download it next to the spec and name the file")
    assert not list((tmp_path / "downloads").glob("*.part")), "no half download is left"


def test_a_url_larger_than_the_limit_is_refused_while_it_downloads(pdfs, tmp_path, monkeypatch):
    from autostream_compiler.sources import documents

    monkeypatch.setattr(documents, "MAX_DOWNLOAD", 4096)
    _Files.pdf = (pdfs / "report.pdf").read_bytes()
    with LocalServer(_Files) as server:
        big = error_of(tmp_path, f"{server.root}/paper.pdf?token=secret", download_dir=tmp_path / "downloads")
    fix = "download it next to the spec and name the file (and choose `pages`)"
    assert big == f"{server.root}/paper.pdf is larger than 4 KB; {fix}", "no query string (a token) in the line"
    assert not list((tmp_path / "downloads").iterdir()), "nothing of it is kept"
