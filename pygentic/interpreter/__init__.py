"""The code interpreter: programs in several languages run in a sandbox with limits, in per-thread work
directories (:mod:`.sandbox`, :mod:`.languages`, :mod:`.workspace`, :mod:`.service`)."""
