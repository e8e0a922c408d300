"""A file's text, by its type: plain text and source code, Markdown, HTML, JSON, CSV, PDF and DOCX.

The type comes from the file name's extension (what OpenAI's file_search goes by too). Failures are
:class:`ExtractionError` with the ``last_error`` code and a message written for the user.
"""

from __future__ import annotations

import csv
import io
import json
from html.parser import HTMLParser
from pathlib import PurePosixPath

TEXT_EXTENSIONS = frozenset(
    ".txt .md .markdown .rst .tex .log .c .h .cc .cpp .hpp .cs .css .go .java .js .mjs .ts .tsx .jsx .php "
    ".py .rb .rs .sh .swift .kt .scala .sql .yaml .yml .toml .ini .xml".split()
)
HTML_EXTENSIONS = frozenset({".html", ".htm"})


class ExtractionError(Exception):
    """The file's text cannot be read; ``code`` is ``unsupported_file`` or ``invalid_file``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def extract_text(filename: str, data: bytes) -> str:
    """The text of a file named ``filename`` holding ``data`` (CPU-bound: run it in a worker thread)."""
    suffix = PurePosixPath(filename.lower()).suffix
    if suffix == ".pdf":
        text = _pdf(data)
    elif suffix == ".docx":
        text = _docx(data)
    elif suffix in HTML_EXTENSIONS:
        text = _html(_decode(data, filename))
    elif suffix == ".json":
        text = _json(_decode(data, filename), filename)
    elif suffix == ".csv":
        text = _csv(_decode(data, filename))
    elif suffix in TEXT_EXTENSIONS or suffix == "":
        text = _decode(data, filename)
    else:
        raise ExtractionError("unsupported_file", f"Files of type '{suffix}' are not supported for search.")
    if not text.strip():
        raise ExtractionError("invalid_file", f"The file '{filename}' contains no text.")
    return text


def _decode(data: bytes, filename: str) -> str:
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ExtractionError("invalid_file", f"The file '{filename}' is not UTF-8 text.")


def _pdf(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise ExtractionError("invalid_file", "The PDF is encrypted.")
        return "\n\n".join(page.extract_text() or "" for page in reader.pages)
    except ExtractionError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise ExtractionError("invalid_file", f"The PDF cannot be read ({type(exc).__name__}).") from exc


def _docx(data: bytes) -> str:
    import zipfile

    import docx

    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ExtractionError("invalid_file", "The DOCX file cannot be read.") from exc
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append(" | ".join(cell.text for cell in row.cells))
    return "\n".join(parts)


class _TextOfHtml(HTMLParser):
    SKIP = frozenset({"script", "style", "noscript", "template"})
    BLOCKS = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _html(text: str) -> str:
    parser = _TextOfHtml()
    parser.feed(text)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _json(text: str, filename: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
    except json.JSONDecodeError as exc:
        raise ExtractionError("invalid_file", f"The file '{filename}' is not valid JSON.") from exc


def _csv(text: str) -> str:
    return "\n".join(", ".join(row) for row in csv.reader(io.StringIO(text)))
