"""Static analysis of notebook cells for naaw (used by the CLI; not part of component images)."""
