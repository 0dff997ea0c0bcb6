"""boxk8s: a whole Kubernetes cluster in one asyncio Python process, for local development."""

__version__ = "0.1.0"
