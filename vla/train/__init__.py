"""Training of the VLA policy: in-memory data pipeline, training loop, checkpoints and logs."""
