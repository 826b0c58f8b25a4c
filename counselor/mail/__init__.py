"""Mail: the outbox (Message rows, sent by a Celery task over SMTP) and counselor notifications.

Importing this package imports no routes; the blueprint lives in ``blueprint.py``.
"""
