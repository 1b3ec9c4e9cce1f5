"""Predictions of the FyreToolkit API: ``POST /predict/{model_id}``.

:class:`PredictionEndpoints` is the section of
:class:`~langchain_mlstudio.fyretoolkit.FyreToolkitClient` that runs a
real-time prediction: one result per input, in order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_mlstudio._core._calls import Call
from langchain_mlstudio.fyretoolkit._checks import check_inputs, segment
from langchain_mlstudio.fyretoolkit._endpoints import Endpoints
from langchain_mlstudio.fyretoolkit._reading import reader
from langchain_mlstudio.fyretoolkit.types import Prediction

__all__ = ["PredictionEndpoints"]


class PredictionEndpoints(Endpoints):
    """The prediction endpoint; a section of :class:`FyreToolkitClient`."""

    @staticmethod
    def _predict_call(
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None,
    ) -> Call[Prediction]:
        body: dict[str, Any] = {"inputs": check_inputs(inputs)}
        if metadata is not None:
            body["metadata"] = dict(metadata)
        path = f"/predict/{segment(model_id, 'model_id')}"
        return Call(
            "POST",
            path,
            reader(Prediction, f"POST {path}"),
            json_body=body,
            # IDEMPOTENT (the default): a prediction changes nothing on the server.
        )

    def predict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Run a real-time prediction: one result per input.

        Args:
            model_id: The deployed model's id.
            inputs: Texts or JSON objects, as the model expects.
            metadata: Optional metadata (``correlation_id``, ``user_id``, ...).

        Raises:
            InvalidInputError: ``inputs`` is empty or not a list (nothing sent).
            NotFoundError: The model does not exist.
            MLStudioError: Any other failure.

        Example::

            prediction = client.predict("sentiment-v1", ["great product"])
            prediction.results[0]["label"]  # 'positive'
        """
        return self._transport.call(self._predict_call(model_id, inputs, metadata))

    async def apredict(
        self,
        model_id: str,
        inputs: Sequence[str | Mapping[str, Any]],
        metadata: Mapping[str, Any] | None = None,
    ) -> Prediction:
        """Async twin of :meth:`predict`."""
        return await self._transport.acall(self._predict_call(model_id, inputs, metadata))
