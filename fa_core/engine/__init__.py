"""Losses, optimizers, schedulers, metrics, checkpoints and the training runner."""
