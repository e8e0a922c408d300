"""``/docs``: Swagger UI 5 (it reads the OpenAPI 3.1 document FastAPI emits), served from the files the
`fastapi-offline` package ships, so the page works without network access."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
STATIC_DIR = Path(fastapi_offline.__file__).parent / "static"


def add_docs(app: FastAPI) -> None:
    """Mount the Swagger UI assets and the ``/docs`` page (the app is created with ``docs_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=str(STATIC_DIR)), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
        )
