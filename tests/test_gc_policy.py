"""The serving process's garbage-collector policy."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from pygentic.gc_policy import freeze_startup_heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def frozen() -> Iterator[None]:
    freeze_startup_heap()
    try:
        yield
    finally:
        gc.unfreeze()  # the rest of the test session collects as before


def test_the_startup_heap_leaves_the_collectors_reach(frozen: None) -> None:
    assert gc.get_freeze_count() > 10_000  # the modules, descriptors and metadata this process loaded
    tracked = len(gc.get_objects())
    assert tracked < gc.get_freeze_count() / 10


def test_garbage_made_after_startup_is_still_collected(frozen: None) -> None:
    node = _Node()
    alive = weakref.ref(node)
    del node
    gc.collect()
    assert alive() is None
