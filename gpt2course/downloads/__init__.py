"""Everything the course downloads, from one endpoint, into one folder.

* ``endpoint``: where downloads come from (``HF_ENDPOINT`` or a mirror, the data URL),
  a quick reachability probe, and the one-line advice a failed download gives.
* ``fetch``: a resumable, hash-checked download of one file (huggingface_hub's ``http_get``).
* ``hub``: files of a Hugging Face repository, kept as plain files in the course's cache.
* ``hub_vocab``: GPT-2's vocabulary built from the Hub's ``vocab.json`` + ``merges.txt``.
* ``command``: ``gpt2course download``.
"""
