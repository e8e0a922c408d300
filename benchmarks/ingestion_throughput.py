"""Vector store ingestion throughput as a client sees it: upload, add to a store, poll until completed.

    .venv/bin/python benchmarks/ingestion_throughput.py [--words 60000] [--pages 50]

Starts `pygentic serve` (SQLite, the embedded embedding model) as a subprocess and, through the REST
gateway with the `openai` SDK, ingests a generated text file (about 800-token chunks with 400 overlapping)
and a generated PDF of `--pages` pages. Prints chunks per second and pages per second; asserts nothing.
"""

from __future__ import annotations

import argparse
import io
import random
import sqlite3
import time

import openai
from serving import serve_sqlite

WORDS = "river mountain city harbor market winter summer engine library garden bridge station".split()


def text_of(words: int) -> str:
    rng = random.Random(3)
    sentences = []
    while sum(len(s.split()) for s in sentences) < words:
        sentences.append(" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".")
    return " ".join(sentences)


def pdf_of(pages: int, words_per_page: int = 300) -> bytes:
    """A PDF with ``pages`` pages of text (built by hand: catalog, pages, one content stream each)."""
    rng = random.Random(5)
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    for _ in range(pages):
        lines = []
        for row in range(words_per_page // 10):
            line = " ".join(rng.choice(WORDS) for _ in range(10))
            lines.append(f"BT /F1 9 Tf 40 {780 - row * 24} Td ({line}) Tj ET")
        stream = "\n".join(lines).encode()
        objects.append(
            b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream"
        )
        content = len(objects)
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content} 0 R "
            f"/Resources << /Font << /F1 {3 + 2 * pages} 0 R >> >> >>".encode()
        )
        kids.append(len(objects))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {pages} >>".encode()
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--words", type=int, default=60_000)
    parser.add_argument("--pages", type=int, default=50)
    args = parser.parse_args()
    with serve_sqlite() as served:
        db_path = served.db_path
        client = openai.OpenAI(base_url=f"{served.base_url}/v1", api_key="x", max_retries=0)
        store = client.vector_stores.create(name="bench")
        for name, data, unit, units in (
            ("corpus.txt", text_of(args.words).encode(), "words", args.words),
            ("corpus.pdf", pdf_of(args.pages), "pages", args.pages),
        ):
            started = time.perf_counter()
            added = client.vector_stores.files.upload_and_poll(
                vector_store_id=store.id, file=(name, data), poll_interval_ms=100
            )
            elapsed = time.perf_counter() - started
            conn = sqlite3.connect(db_path)
            chunks = conn.execute("SELECT count(*) FROM chunks WHERE file_id = ?", (added.id,)).fetchone()[0]
            conn.close()
            print(
                f"{name}: {added.status}, {units} {unit}, {chunks} chunks in {elapsed:.1f} s: "
                f"{chunks / elapsed:.2f} chunks/s, {units / elapsed:.1f} {unit}/s"
            )


if __name__ == "__main__":
    main()
