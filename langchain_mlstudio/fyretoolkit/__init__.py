"""FyreToolkit: a typed client, a predict tool and an agent toolkit.

Example::

    from langchain_mlstudio.fyretoolkit import FyreToolkitClient, FyreToolkit

    client = FyreToolkitClient(api_key="sk_live_demo_12345",
                               base_url="http://127.0.0.1:8765")
    tools = FyreToolkit(client=client).get_tools()
"""

from langchain_mlstudio.fyretoolkit._ratelimit import RateLimitGate
from langchain_mlstudio.fyretoolkit._tooling import FyreToolkitTool
from langchain_mlstudio.fyretoolkit.client import FyreToolkitClient
from langchain_mlstudio.fyretoolkit.toolkit import FyreToolkit
from langchain_mlstudio.fyretoolkit.tools import (
    FyreToolkitCancelJobTool,
    FyreToolkitCreateBatchJobTool,
    FyreToolkitCreateDeploymentTool,
    FyreToolkitDeleteDeploymentTool,
    FyreToolkitGetJobTool,
    FyreToolkitGetMetricsTool,
    FyreToolkitGetModelTool,
    FyreToolkitListDeploymentsTool,
    FyreToolkitListModelsTool,
    FyreToolkitModelPredictTool,
    FyreToolkitPredictInput,
    FyreToolkitPredictTool,
)
from langchain_mlstudio.fyretoolkit.types import (
    BatchJob,
    DeletedDeployment,
    Deployment,
    DeploymentMetrics,
    JobProgress,
    LatencyStats,
    ListPage,
    Metrics,
    Model,
    Prediction,
    PredictionUsage,
    RateLimitInfo,
)

__all__ = [
    "BatchJob",
    "DeletedDeployment",
    "Deployment",
    "DeploymentMetrics",
    "FyreToolkit",
    "FyreToolkitCancelJobTool",
    "FyreToolkitClient",
    "FyreToolkitCreateBatchJobTool",
    "FyreToolkitCreateDeploymentTool",
    "FyreToolkitDeleteDeploymentTool",
    "FyreToolkitGetJobTool",
    "FyreToolkitGetMetricsTool",
    "FyreToolkitGetModelTool",
    "FyreToolkitListDeploymentsTool",
    "FyreToolkitListModelsTool",
    "FyreToolkitModelPredictTool",
    "FyreToolkitPredictInput",
    "FyreToolkitPredictTool",
    "FyreToolkitTool",
    "JobProgress",
    "LatencyStats",
    "ListPage",
    "Metrics",
    "Model",
    "Prediction",
    "PredictionUsage",
    "RateLimitGate",
    "RateLimitInfo",
]
