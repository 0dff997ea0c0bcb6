"""The dev loop: the project's manifests applied and kept converged to the files (ApplySet pruning),
local image rebuilds rolled out, `up --wait` and the live status view."""
