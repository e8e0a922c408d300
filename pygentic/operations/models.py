"""The models the configured LLM connectors serve: what ``GET /v1/models`` and ``Models.ListModels``
list."""

from __future__ import annotations

import logging

from pygentic.connectors.llm import LLMError
from pygentic.connectors.router import LLMRouter
from pygentic.errors import ApiError, ErrorKind
from pygentic.proto.v1 import models_pb2 as pb

log = logging.getLogger("pygentic.models")
GLOB = set("*?[")


class ModelOperations:
    """Each connector's models (those it reports, and the literal names of its ``models`` patterns),
    named as a request would route to it: the default connector's as they are, another connector's as
    they are when its patterns route them there, else as ``<connector>/<model>``. A connector whose
    upstream cannot be asked is left out of the list, with a warning in the log."""

    def __init__(self, router: LLMRouter) -> None:
        self.router = router

    async def list(self) -> pb.ListModelsResponse:
        seen: dict[str, pb.Model] = {}
        patterns = {connector.name: p for connector, p in self.router.routes}
        for connector in self.router.connectors():
            own = patterns.get(connector.name, ())
            try:
                reported = await connector.list_models()
            except LLMError as exc:
                log.warning("models not listed", extra={"connector": connector.name, "reason": exc.message})
                reported = []
            names = [*reported, *(p for p in own if not GLOB & set(p))]
            for name in names:
                routed, _ = self.router.resolve(name)
                model_id = name if routed is connector else f"{connector.name}/{name}"
                seen.setdefault(
                    model_id, pb.Model(id=model_id, object="model", created=0, owned_by=connector.name)
                )
        return pb.ListModelsResponse(object="list", data=list(seen.values()))

    async def get(self, model: str) -> pb.Model:
        for item in (await self.list()).data:
            if item.id == model:
                return item
        raise ApiError(ErrorKind.NOT_FOUND, f"The model '{model}' does not exist.", param="model")
