"""Text extraction by file type and token-window chunking (the steps before embedding)."""

from __future__ import annotations

import io
import json

import pytest

from pygentic.connectors.minilm import MiniLM
from pygentic.errors import ApiError
from pygentic.ingestion.chunking import AUTO, check_strategy, chunk_text
from pygentic.ingestion.extract import ExtractionError, extract_text


def minimal_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (built by hand, with a correct cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def test_text_of_each_supported_type() -> None:
    assert extract_text("a.txt", "plain text, ünïcode".encode()) == "plain text, ünïcode"
    assert extract_text("notes.md", b"# Title\n\nBody") == "# Title\n\nBody"
    assert "def main" in extract_text("x.py", b"def main():\n    pass\n")
    html = (
        b"<html><head><style>p{}</style><script>var x=1</script></head>"
        b"<body><h1>Head</h1><p>One &amp; two</p></body></html>"
    )
    assert extract_text("page.html", html) == "Head\nOne & two"
    assert json.loads(extract_text("d.json", b'{"k": [1, 2]}')) == {"k": [1, 2]}
    assert extract_text("t.csv", b'a,b\n1,"x, y"\n') == "a, b\n1, x, y"
    assert "Hello PDF world" in extract_text("doc.pdf", minimal_pdf("Hello PDF world"))
    docx = pytest.importorskip("docx")
    document = docx.Document()
    document.add_paragraph("A paragraph in Word.")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "left", "right"
    buffer = io.BytesIO()
    document.save(buffer)
    assert extract_text("report.docx", buffer.getvalue()) == "A paragraph in Word.\nleft | right"


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("image.png", b"\x89PNG\r\n", "unsupported_file"),
        ("broken.pdf", b"%PDF-1.4 this is not a pdf", "invalid_file"),
        ("broken.docx", b"not a zip", "invalid_file"),
        ("latin1.txt", "caf\xe9".encode("latin-1"), "invalid_file"),
        ("bad.json", b"{nope", "invalid_file"),
        ("empty.txt", b"   \n", "invalid_file"),
    ],
)
def test_unreadable_files_fail_with_a_code(name: str, data: bytes, code: str) -> None:
    with pytest.raises(ExtractionError) as info:
        extract_text(name, data)
    assert info.value.code == code and info.value.message


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return MiniLM().tokenizer


def test_auto_chunks_are_800_tokens_overlapping_by_400(tokenizer: object) -> None:
    text = " ".join(f"word{i}" for i in range(1500))
    total = len(tokenizer.encode(text, add_special_tokens=False).ids)  # type: ignore[attr-defined]
    chunks = chunk_text(tokenizer, text, check_strategy({"type": "auto"}))
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert all(c.tokens == 800 for c in chunks[:-1]) and 0 < chunks[-1].tokens <= 800
    assert 400 * (len(chunks) - 1) + chunks[-1].tokens == total  # each chunk starts 400 tokens after the last
    assert chunks[0].text.startswith("word0 ") and chunks[-1].text.endswith("word1499")
    short = chunk_text(tokenizer, "Just one sentence.", AUTO)
    assert [(c.text, c.position) for c in short] == [("Just one sentence.", 0)]


def test_static_strategy_and_its_limits(tokenizer: object) -> None:
    strategy = check_strategy(
        {"type": "static", "static": {"max_chunk_size_tokens": 100, "chunk_overlap_tokens": 0}}
    )
    chunks = chunk_text(tokenizer, " ".join(["alpha"] * 250), strategy)
    assert [c.tokens for c in chunks] == [100, 100, 50]
    for bad in (
        {"type": "static", "static": {"max_chunk_size_tokens": 99, "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": 4097, "chunk_overlap_tokens": 0}},
        {"type": "static", "static": {"max_chunk_size_tokens": 200, "chunk_overlap_tokens": 101}},
        {"type": "static"},
        {"type": "semantic"},
    ):
        with pytest.raises(ApiError):
            check_strategy(bad)
