"""Imported first by every tools entry point: Hugging Face libraries stay offline and quiet.

Nothing in tools/ downloads at run time; a missing file fails instead of being fetched.
Values already set by the caller win.
"""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
