"""Questionnaires and exercises: the library, versions, assignment to cases, links."""
