"""Site analysis before a generation."""
