"""Robot models composed with MjSpec from assets that installed packages ship."""
