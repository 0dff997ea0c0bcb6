"""The controller manager's controllers. The package imports only their base: the list the manager
runs is in manager.py, so a module that needs one controller (the CRD serving at bootstrap) does not
import them all (the API answers before they are imported: cluster/components.py)."""

from boxk8s.controllers.base import Controller, ControllerFactory

__all__ = ["Controller", "ControllerFactory"]
