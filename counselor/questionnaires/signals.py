"""Signals of homework events, for features above this one (mail) to act on.

Sent inside the service's transaction, before the route commits: a receiver that writes rows
(an outbox message) commits with the event or not at all.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: sender: the Assignment; ``partners``: the partners it was given to
homework_assigned = _signals.signal("homework-assigned")
#: sender: the Assignment, just released to its partners
results_released = _signals.signal("results-released")
#: sender: the Assignment; ``response``: the Response a partner just submitted. A receiver
#: may return a list of alerts it raised (they are mailed to the counselor with the others).
#: The portal sends them as plain rows (``counselor.portal.context.AssignmentRow`` and
#: ``ResponseRow``: ids, ``case_id``, ``partner_id``, ``definition``, ``answers``): a receiver
#: that needs more of them loads it. ``answers``: the response's answers, opened once by the
#: sender (a receiver reads them rather than decrypting ``response.answers`` again).
homework_submitted = _signals.signal("homework-submitted")
