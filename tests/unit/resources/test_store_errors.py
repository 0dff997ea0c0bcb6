"""Store errors become the apiserver's Status reasons and messages, in one place."""

from __future__ import annotations

import pytest

from boxk8s import errors
from boxk8s.resources import registry
from boxk8s.resources.store_errors import api_errors
from boxk8s.store import Compacted, KeyExists, KeyNotFound, RevisionConflict, StoreError

DEPLOYMENTS = registry.find("apps", "v1", "deployments")
assert DEPLOYMENTS is not None


@pytest.mark.parametrize(
    ("raised", "kwargs", "reason", "message"),
    [
        (KeyNotFound(), {}, "NotFound", 'deployments.apps "web" not found'),
        (KeyExists(), {}, "AlreadyExists", 'deployments.apps "web" already exists'),
        (RevisionConflict(), {}, "Conflict",
         'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; '
         "please apply your changes to the latest version and try again"),
        (Compacted(5, 9), {}, "Expired", "too old resource version: 5 (9)"),
        (Compacted(5, 9), {"revision": 4}, "Expired", "too old resource version: 4 (9)"),
        (Compacted(5, 9), {"continuing": True}, "Expired",
         "The provided continue parameter is too old to display a consistent list result. "
         "You can start a new list without the continue parameter."),
    ],
)
def test_store_errors_become_api_errors(raised: StoreError, kwargs: dict[str, object], reason: str,
                                        message: str) -> None:
    with pytest.raises(errors.ApiError) as caught, api_errors(DEPLOYMENTS, "web", **kwargs):  # type: ignore[arg-type]
        raise raised
    assert (caught.value.reason, caught.value.message) == (reason, message)
    assert caught.value.__cause__ is raised


def test_other_errors_pass_through() -> None:
    with pytest.raises(ValueError), api_errors(DEPLOYMENTS, "web"):
        raise ValueError("not the store's")
