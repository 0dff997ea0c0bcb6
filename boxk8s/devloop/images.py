"""Image rebuild → rollout: a local image tag given to a new image rolls out the workloads that run it.

The events come from the container runtime (Docker's `tag`, `load`, `import` and `pull` events:
no polling); what to change is `images_plan.plan_image_rollouts`; the change is a merge patch of
each workload through the client, with an event on the workload saying which image moved.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable

from boxk8s import errors
from boxk8s.client import Client, InformerFactory, Kind
from boxk8s.devloop.images_plan import plan_image_rollouts
from boxk8s.events import NORMAL, EventRecorder

log = logging.getLogger(__name__)

ImageEvents = Callable[[], AsyncIterator[tuple[str, str]]]


class ImageRollouts:
    name = "image-rollouts"

    def __init__(self, client: Client, factory: InformerFactory, events: ImageEvents,
                 recorder: EventRecorder | None = None) -> None:
        assert Kind.DEPLOYMENT and Kind.STATEFULSET and Kind.DAEMONSET
        self.client = client
        self.factory = factory
        self.events = events
        self.recorder = recorder or EventRecorder(client, self.name)
        self.kinds = {"Deployment": Kind.DEPLOYMENT, "StatefulSet": Kind.STATEFULSET, "DaemonSet": Kind.DAEMONSET}
        self.informers = [factory.informer(rt) for rt in self.kinds.values()]
        self.rolled = 0  # workloads patched so far (tests wait on it)

    async def run(self) -> None:
        stream = self.events()  # opened first: a rebuild during the informers' sync is not missed
        await self.factory.wait_synced()
        async for image, image_id in stream:
            try:
                await self.rebuilt(image, image_id)
            except Exception:  # one bad patch must not end the watch
                log.exception("image %s: rolling out its workloads failed", image)

    async def rebuilt(self, image: str, image_id: str) -> None:
        workloads = [obj for informer in self.informers for obj in informer.list()]
        for rollout in plan_image_rollouts(workloads, image, image_id):
            rt = self.kinds[rollout.kind]
            try:
                obj = await self.client.patch(rt, rollout.namespace, rollout.name, rollout.patch)
            except errors.NotFound:
                continue
            self.rolled += 1
            message = (f"image {image} was rebuilt ({image_id.removeprefix('sha256:')[:12]}): rolling out "
                       f"container{'s' if len(rollout.containers) > 1 else ''} {', '.join(rollout.containers)}")
            log.info("%s/%s %s: %s", rollout.kind.lower(), rollout.name, rollout.namespace, message)
            await self.recorder.event(obj, NORMAL, "ImageRebuilt", message)
