"""fa_core: fine-tune Segment Anything into task models (Extend-SAM)."""

__version__ = "0.1.0"
