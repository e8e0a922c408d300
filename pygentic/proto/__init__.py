"""Generated protobuf and gRPC code (``make proto``); see ``protos/`` for the source of truth."""
