"""Middleware for LangChain v1 agents (``langchain.agents.create_agent``).

Needs the ``agents`` extra (``pip install 'langchain-mlstudio[agents]'``),
which brings ``langchain`` and ``langgraph``.

Example::

    from langchain.agents import create_agent
    from langchain_mlstudio.agents import FastinoPIIMiddleware

    agent = create_agent(model, tools=tools, middleware=[
        FastinoPIIMiddleware(strategy="pseudonymize", restore_output=True)])
"""

try:
    import langchain.agents  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    msg = (
        "langchain_mlstudio.agents needs LangChain v1 agents: "
        "pip install 'langchain-mlstudio[agents]'"
    )
    raise ImportError(msg) from exc

from langchain_mlstudio.agents.middleware import FastinoPIIMiddleware, FastinoPIIState

__all__ = ["FastinoPIIMiddleware", "FastinoPIIState"]
