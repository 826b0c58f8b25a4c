"""Signals of homework events, for features above this one (mail) to act on.

Sent inside the service's transaction, before the route commits: a receiver that writes rows
(an outbox message) commits with the event or not at all. A submit that every receiver of
``homework_submitted`` says it does nothing for (``writes_only_when``) is one statement
committed on its own (PostgreSQL: ``portal.submitting._submit_alone``), and not sent.
"""

from __future__ import annotations

from collections.abc import Callable

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

#: what each receiver of ``homework_submitted`` may write, told before the submit writes:
#: ``(definition, answers) -> bool``, False when the receiver writes nothing for a submit of
#: these answers (``writes_only_when``)
_SUBMIT_MAY_WRITE: dict[Callable, Callable] = {}


def writes_only_when(may_write: Callable) -> Callable:
    """Register, for a receiver of ``homework_submitted`` (the decorated function), the pure
    check of whether it may write for a submit: ``may_write(definition, answers)``, reading
    nothing but its arguments. The receiver promises to do nothing (write nothing, return
    no alert) when its check is False: a submit that no receiver may write for, and that
    writes nothing else after its own write, is written by one statement alone and the
    signal is not sent (``portal.submitting._submit_alone``). A receiver without a check is
    taken to write: every submit is then sent it, in the submit's transaction."""

    def register(receiver: Callable) -> Callable:
        _SUBMIT_MAY_WRITE[receiver] = may_write
        return receiver

    return register


def submitted_may_write(assignment, answers: dict) -> bool:
    """Whether a receiver of ``homework_submitted`` may write for a submit of ``answers`` on
    ``assignment`` (the sender: a receiver connected to another sender is not asked)."""
    for receiver in homework_submitted.receivers_for(assignment):
        may_write = _SUBMIT_MAY_WRITE.get(receiver)
        if may_write is None or may_write(assignment.definition, answers):
            return True
    return False
