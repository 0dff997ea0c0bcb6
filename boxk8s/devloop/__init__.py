"""The dev loop: manifests applied and kept converged, image rebuilds rolled out."""
