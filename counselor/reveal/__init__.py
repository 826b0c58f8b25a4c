"""Comparing partners' answers, releasing what partners may see, and safety alerts."""
