"""Object ids with OpenAI's prefixes and enough randomness to be unguessable."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits
_LENGTH = 24  # 24 base-62 characters: about 143 bits of randomness
_SPACE = len(_ALPHABET) ** _LENGTH

ASSISTANT = "asst_"
THREAD = "thread_"
MESSAGE = "msg_"
RUN = "run_"
STEP = "step_"
TOOL_CALL = "call_"
FILE = "file-"
VECTOR_STORE = "vs_"
FILE_BATCH = "vsfb_"


def new_id(prefix: str) -> str:
    """Return a new random id such as ``asst_3kTq...`` (prefix + 24 base-62 characters)."""
    # One draw from the OS's generator, written in base 62 (24 ``secrets.choice`` calls cost 18 us).
    n = secrets.randbelow(_SPACE)
    chars = []
    for _ in range(_LENGTH):
        n, digit = divmod(n, 62)
        chars.append(_ALPHABET[digit])
    return prefix + "".join(chars)
