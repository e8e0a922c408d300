"""Imported at start-up by the schemathesis subprocess of test_fuzz.py (its PYTHONPATH names this folder).

CPython before 3.11.8 can raise ``SystemError: AST constructor recursion depth mismatch`` (CPython
gh-106905) when ``ast.parse`` runs deep in the stack, which Hypothesis does to describe a lambda inside a
deeply nested strategy. Only that description text is affected, so it falls back to a placeholder here
instead of aborting the whole run; the requests and every check on the responses are unchanged.
"""

import sys

if sys.version_info < (3, 11, 8):
    from hypothesis.internal import lambda_sources

    _describe = lambda_sources.lambda_description

    def _lambda_description(f):  # type: ignore[no-untyped-def]
        try:
            return _describe(f)
        except SystemError:
            return "lambda: <source unavailable>"

    lambda_sources.lambda_description = _lambda_description
