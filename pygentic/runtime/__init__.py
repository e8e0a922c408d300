"""The run engine: the run state machine, its event bus, tool-call handling, expiry and recovery."""
