"""FyreToolkit: a typed client, a predict tool and an agent toolkit.

Example::

    from langchain_mlstudio.fyretoolkit import FyreToolkitClient, FyreToolkit

    client = FyreToolkitClient(api_key="sk_live_demo_12345",
                               base_url="http://127.0.0.1:8765")
    tools = FyreToolkit(client=client).get_tools()
"""

from langchain_mlstudio.fyretoolkit import tools, types
from langchain_mlstudio.fyretoolkit._tooling import FyreToolkitTool
from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient
from langchain_mlstudio.fyretoolkit.toolkit import FyreToolkit
from langchain_mlstudio.fyretoolkit.tools import *  # noqa: F403 -- re-exports tools.__all__
from langchain_mlstudio.fyretoolkit.types import *  # noqa: F403 -- re-exports types.__all__

__all__ = ["FyreToolkit", "FyreToolkitClient", "FyreToolkitTool"]
__all__ += tools.__all__
__all__ += types.__all__
