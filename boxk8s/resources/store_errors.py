"""The one place store errors become API errors.

The store speaks of keys and revisions (KeyNotFound, KeyExists, RevisionConflict, Compacted);
clients expect the apiserver's Status reasons and wording (NotFound, AlreadyExists, Conflict,
Expired). Every store call of the resource layer runs inside `api_errors`, so the mapping and
the messages live here only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from boxk8s import errors
from boxk8s.resources.registry import ResourceType
from boxk8s.store import Compacted, KeyExists, KeyNotFound, RevisionConflict

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter."
)


@contextlib.contextmanager
def api_errors(
    rt: ResourceType, name: str = "", *, revision: int | None = None, continuing: bool = False
) -> Iterator[None]:
    """Raise the API error of a store error, `from` it. `name` is the object's; `revision` the
    one a list or watch asked for (the Expired message names it); `continuing` a list that came
    with a continue token (its Expired message says so)."""
    try:
        yield
    except KeyNotFound as e:
        raise errors.not_found(rt.group, rt.plural, name) from e
    except KeyExists as e:
        raise errors.already_exists(rt.group, rt.plural, name) from e
    except RevisionConflict as e:
        raise errors.conflict(rt.group, rt.plural, name) from e
    except Compacted as e:
        if continuing:
            raise errors.Expired(CONTINUE_EXPIRED) from e
        asked = e.requested if revision is None else revision
        raise errors.Expired(f"too old resource version: {asked} ({e.compact_revision})") from e
