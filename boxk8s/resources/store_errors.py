"""The one place store errors become API errors.

The store speaks of keys and revisions (KeyNotFound, KeyExists, RevisionConflict, Compacted);
clients expect the apiserver's Status reasons and wording (NotFound, AlreadyExists, Conflict,
Expired). Every store call of the resource layer runs inside `api_errors`, so the mapping and
the messages live here only.
"""

from __future__ import annotations

from types import TracebackType

from boxk8s import errors
from boxk8s.resources.registry import ResourceType
from boxk8s.store import (
    Compacted,
    KeyExists,
    KeyNotFound,
    RequestTooLarge,
    RevisionConflict,
    StoreError,
    Unreadable,
)

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


class api_errors:  # noqa: N801 - used as `with api_errors(...)`, like a function
    """Raise the API error of a store error, `from` it. `name` is the object's; `revision` the
    one a list or watch asked for (the Expired message names it); `continuing` a list that came
    with a continue token (its Expired message says so).

    A class rather than a @contextmanager generator: every read and write of the resource layer
    enters one, and a generator costs a few microseconds more on a 10 µs GET.
    """

    __slots__ = ("rt", "name", "revision", "continuing")

    def __init__(self, rt: ResourceType, name: str = "", *, revision: int | None = None,
                 continuing: bool = False) -> None:
        self.rt = rt
        self.name = name
        self.revision = revision
        self.continuing = continuing

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: type[BaseException] | None, e: BaseException | None, _tb: TracebackType | None) -> None:
        if e is None or not isinstance(e, StoreError):
            return
        rt, name = self.rt, self.name
        if isinstance(e, KeyNotFound):
            raise errors.not_found(rt.group, rt.plural, name) from e
        if isinstance(e, KeyExists):
            raise errors.already_exists(rt.group, rt.plural, name) from e
        if isinstance(e, RevisionConflict):
            raise errors.conflict(rt.group, rt.plural, name) from e
        if isinstance(e, RequestTooLarge):
            # The apiserver passes etcd's words on, as a 500 with no reason (kubernetes#112152, open,
            # asks for a proper code): the same words here, as the client error it is.
            raise errors.RequestEntityTooLarge(str(e)) from e
        if isinstance(e, Unreadable):  # storeerr.Interpret*Error of storage.NewInternalError
            raise errors.internal_error(e.reason) from e
        if isinstance(e, Compacted):
            if self.continuing:
                raise errors.Expired(CONTINUE_EXPIRED) from e
            asked = e.requested if self.revision is None else self.revision
            raise errors.Expired(f"too old resource version: {asked} ({e.compact_revision})") from e
