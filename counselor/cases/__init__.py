"""Caseload: cases, their partners, and counseling sessions with private notes."""
