"""Where the alert model used to live: `Alert` is `counselor.alerts.models.Alert` now.

Kept so that code written against the old place (the partner portal) keeps importing; new code
imports from `counselor.alerts.models`.
"""

from counselor.alerts.models import Alert

__all__ = ["Alert"]
