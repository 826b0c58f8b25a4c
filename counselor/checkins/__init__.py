"""Recurring check-ins (schedules that beat turns into assignments) and trends over time."""
