"""Practice administration: counselor accounts. Admins see no clinical data."""
