"""Scripted experts: motion primitives (closed-loop on simulator state) composed per task."""
