"""The operations of the API: one implementation each, called by both the gRPC and the REST front doors.

Each operation takes the request message of ``protos/`` and returns the response message; errors are
:class:`pygentic.errors.ApiError`.
"""
