"""Training: fit(config) -> History, the loop and its watchers, checkpoints, run folders, the model registry."""
