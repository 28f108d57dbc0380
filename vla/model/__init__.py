"""The VLA model: encoders, moment tokens and memory, spatial grounding, diffusion and flow action heads."""
