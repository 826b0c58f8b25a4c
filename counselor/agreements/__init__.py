"""Living agreements: versions of clauses both partners acknowledge, and can pause at any time."""
