"""The controller manager's controllers. `CONTROLLERS` is what the supervisor starts, in order."""

from __future__ import annotations

from boxk8s.controllers.base import Controller

CONTROLLERS: list[type[Controller]] = []

__all__ = ["CONTROLLERS", "Controller"]
