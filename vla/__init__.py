"""VLA stack: policies, training, runtime. Simulation lives in `vla_sim`, datasets in `vla_data`."""

__version__ = "0.1.0"
