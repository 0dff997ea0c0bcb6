"""The controller manager's controllers. `CONTROLLERS` is what the supervisor starts, in order."""

from __future__ import annotations

from boxk8s.controllers.base import Controller
from boxk8s.controllers.garbagecollector import GarbageCollector

CONTROLLERS: list[type[Controller]] = [GarbageCollector]

__all__ = ["CONTROLLERS", "Controller"]
