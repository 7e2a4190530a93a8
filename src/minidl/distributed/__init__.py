"""Data-parallel training on torch.distributed: the ranks' world, the gradient exchange, the launcher."""
