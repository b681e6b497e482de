"""Running sibling coroutines that live and die together."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any


async def until_first_failure(tasks: Sequence[asyncio.Future[Any]]) -> None:
    """Wait until one task fails (its error propagates) or all finish; cancel the rest either way."""
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
