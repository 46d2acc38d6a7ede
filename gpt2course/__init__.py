"""gpt2course: build GPT-2 from scratch, piece by piece.

The reference GPT-2 here is what every check and the grader compare against.
"""

from .config import GPT2Config
from .errors import CourseError
from .model import GPT2, KVCache
from .sampling import generate
from .vocab import gpt2_encoding
from .weights import load_pretrained

__all__ = [
    "GPT2",
    "GPT2Config",
    "KVCache",
    "CourseError",
    "generate",
    "gpt2_encoding",
    "load_pretrained",
]
__version__ = "0.1.0"
