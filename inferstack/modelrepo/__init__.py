"""Triton model repositories rendered from the model definition, one target at a time."""
