"""The in-process client every component uses: the same resource layer as the API, no HTTP hop."""

from boxk8s.client.client import Client, Kind
from boxk8s.client.factory import InformerFactory
from boxk8s.client.informer import Informer
from boxk8s.client.workqueue import WorkQueue

__all__ = ["Client", "Informer", "InformerFactory", "Kind", "WorkQueue"]
