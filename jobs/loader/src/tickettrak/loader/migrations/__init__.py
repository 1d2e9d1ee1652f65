"""Versioned SQL migrations, applied in order by tickettrak.loader.schema."""
