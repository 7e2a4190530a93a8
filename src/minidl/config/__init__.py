"""A run's configuration in parts: the model, the optimization, the run (each data source's options live with it)."""
