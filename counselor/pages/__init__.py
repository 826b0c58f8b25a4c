"""The counselor's pages that show several features at once: caseload, case, session, assignment.

Each page has a read model here that asks every feature's service for what the page shows and
records the read in the audit log; the page's view calls it and hands the result to the
template, which renders only what it is given. This package sits above every feature it reads
(the import contracts say so), so what a page depends on is visible in Python.
"""
