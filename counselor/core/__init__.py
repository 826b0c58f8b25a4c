"""Shared foundations: encryption, audit, ownership, model mixins. Imports no feature."""
