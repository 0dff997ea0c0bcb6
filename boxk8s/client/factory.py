"""Shared informers: one watch and one cache per kind, whatever the number of controllers using it."""

from __future__ import annotations

import asyncio

from boxk8s.client.client import Client
from boxk8s.client.custom_kinds import CustomKindInformers
from boxk8s.client.informer import Informer
from boxk8s.resources.registry import ResourceType


class InformerFactory:
    def __init__(self, client: Client) -> None:
        self.client = client
        self._informers: dict[str, Informer] = {}
        self._custom: CustomKindInformers | None = None

    def informer(self, rt: ResourceType) -> Informer:
        key = f"{rt.group}/{rt.plural}"
        if key not in self._informers:
            self._informers[key] = Informer(self.client, rt)
        return self._informers[key]

    def custom_kinds(self) -> CustomKindInformers:
        """The shared informers of the kinds CRDs serve (run by `run` once asked for)."""
        if self._custom is None:
            self._custom = CustomKindInformers(self.client)
        return self._custom

    async def run(self) -> None:
        """Run every informer asked for so far (ask for them all before calling this)."""
        async with asyncio.TaskGroup() as tg:
            for key, inf in self._informers.items():
                tg.create_task(inf.run(), name=f"informer-{key}")
            if self._custom is not None:
                tg.create_task(self._custom.run(), name="informers-custom-kinds")

    def unsynced(self) -> list[str]:
        """The informers (group/plural) that have not listed yet."""
        return [key for key, inf in self._informers.items() if not inf.synced.is_set()]

    async def wait_synced(self) -> None:
        await asyncio.gather(*(inf.synced.wait() for inf in self._informers.values()))
