"""The dev loop: the manifests under `manifests/` applied at start and on every save.

`manifests.py` (files → documents, pure), `applyset.py` (the ApplySet, pure), `apply.py`
(`plan_changes`, pure; `Applier`, writes through a Client), `watch.py` (`DevLoop`, the component).
"""
