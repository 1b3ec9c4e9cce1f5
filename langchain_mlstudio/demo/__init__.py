"""The end-to-end demo: ``python -m langchain_mlstudio.demo``.

Sample support tickets with personal data (shipped in ``demo/data``) are split,
redacted with :class:`~langchain_mlstudio.FastinoPIITransformer`
(``pseudonymize``), a question is answered over the retrieved redacted chunks
by :class:`~langchain_mlstudio.ChatModelStudio` in an LCEL chain (``invoke``),
every ticket is summarised in one job (``batch``), the pseudonyms in the
answers are restored, and :class:`~langchain_mlstudio.FyreToolkitPredictTool`
scores each ticket's sentiment. Services without an API key in the
environment run on the built-in emulator.

Example:
    >>> from langchain_mlstudio.demo import load_documents, split_documents
    >>> len(split_documents(load_documents())) > len(load_documents())
    True
"""

from langchain_mlstudio.demo._app import main
from langchain_mlstudio.demo._documents import load_documents, retrieve, split_documents

__all__ = ["load_documents", "main", "retrieve", "split_documents"]
