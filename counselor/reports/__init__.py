"""PDF session summaries: requested here, rendered by Celery workers, stored encrypted."""
