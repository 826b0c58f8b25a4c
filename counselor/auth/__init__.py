"""Counselor accounts: login, logout, password change, server-side login sessions."""
