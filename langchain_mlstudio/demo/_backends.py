"""Where each of the demo's services runs: the real API (a key is set) or the emulator."""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from langchain_mlstudio.chat_models import ChatIonosModelStudio, ChatModelStudio
from langchain_mlstudio.demo._printer import Printer
from langchain_mlstudio.demo._responder import tickets_responder
from langchain_mlstudio.errors import ConfigurationError
from langchain_mlstudio.fastino import FastinoPIITransformer
from langchain_mlstudio.fyretoolkit import FyreToolkitPredictTool

__all__ = [
    "Backends",
    "build_backends",
    "uses_real_services",
]

DEMO_KEY = "demo-key"
DEMO_ORG = "demo-org"
DEFAULT_MODEL = "my-fine-tuned-model"
DEFAULT_SENTIMENT_MODEL = "sentiment-v1"


@dataclass
class Backends:
    """Where each service is: the real API (from the environment) or the emulator."""

    llm: BaseChatModel
    pii: FastinoPIITransformer
    sentiment: FyreToolkitPredictTool
    descriptions: dict[str, str]


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def uses_real_services(environ: dict[str, str] | None = None) -> dict[str, bool]:
    """Which services have a key in the environment.

    Example:
        >>> uses_real_services({"FASTINO_API_KEY": "k"})
        {'chat model': False, 'Fastino': True, 'FyreToolkit': False}
    """
    env = os.environ if environ is None else environ
    return {
        "chat model": bool(env.get("MODELSTUDIO_API_KEY") or env.get("IONOS_MODEL_STUDIO_API_KEY")),
        "Fastino": bool(env.get("FASTINO_API_KEY")),
        "FyreToolkit": bool(env.get("FYRETOOLKIT_API_KEY")),
    }


def build_backends(stack: ExitStack, printer: Printer, force_emulator: bool) -> Backends:
    """Connect to the real services that have keys, and the emulator for the rest."""
    real = {name: has and not force_emulator for name, has in uses_real_services().items()}
    base_url = None
    if not all(real.values()):
        from langchain_mlstudio.emulator import Emulator

        emulator = Emulator(
            api_key=DEMO_KEY, organization_id=DEMO_ORG, model=DEFAULT_MODEL, job_duration=0.4
        )
        emulator.fastino.latency = 0.05
        # Answer the demo's prompt from its tickets instead of echoing it (marked as emulated).
        emulator.generate.responder = tickets_responder()
        stack.enter_context(emulator)
        base_url = emulator.base_url
        why = "--emulator was given" if force_emulator else None
        if why is None:
            why = "no API key is set" if not any(real.values()) else "some services have no API key"
        printer.line(f"Starting the built-in emulator at {base_url} ({why}).")
        printer.line("Set MODELSTUDIO_*, FASTINO_* and FYRETOOLKIT_* to use the real services.")
    descriptions: dict[str, str] = {}
    model = _env("MODELSTUDIO_MODEL") or DEFAULT_MODEL
    llm: BaseChatModel
    if real["chat model"]:
        if not _env("MODELSTUDIO_MODEL"):
            msg = "No model id for the real chat model service"
            raise ConfigurationError(
                msg, hint="Set MODELSTUDIO_MODEL to the id of your fine-tuned model."
            )
        if _env("MODELSTUDIO_API_KEY"):
            llm = ChatModelStudio(model=model, temperature=0.2, progress=False)
            descriptions["chat model"] = f"ChatModelStudio, model {model!r} at {llm.base_url}"
        else:
            llm = ChatIonosModelStudio(model=model, temperature=0.2, progress=False)
            descriptions["chat model"] = f"ChatIonosModelStudio, model {model!r} at {llm.base_url}"
    else:
        llm = ChatModelStudio(
            model=DEFAULT_MODEL,
            api_key=DEMO_KEY,
            organization_id=DEMO_ORG,
            base_url=base_url,
            temperature=0.2,
            progress=False,
        )
        descriptions["chat model"] = (
            f"ChatModelStudio on the emulator (model {DEFAULT_MODEL!r}; a scripted responder "
            "answers with the sentences of the tickets that match the question)"
        )
    # The demo draws its own progress bars (from the callbacks): no second display.
    pii_settings: dict[str, Any] = {
        "strategy": "pseudonymize",
        "max_concurrency": 4,
        "progress": False,
    }
    if real["Fastino"]:
        pii = FastinoPIITransformer(**pii_settings)
        descriptions["Fastino"] = f"FastinoPIITransformer at {pii.fastino_client.base_url}"
    else:
        pii = FastinoPIITransformer(api_key=DEMO_KEY, base_url=base_url, **pii_settings)
        descriptions["Fastino"] = "FastinoPIITransformer on the emulator (a rule-based detector)"
    sentiment_model = _env("FYRETOOLKIT_SENTIMENT_MODEL") or DEFAULT_SENTIMENT_MODEL
    if real["FyreToolkit"]:
        sentiment = FyreToolkitPredictTool(model_id=sentiment_model)
        descriptions["FyreToolkit"] = (
            f"FyreToolkitPredictTool, model {sentiment_model!r} at {sentiment.base_url}"
        )
    else:
        sentiment = FyreToolkitPredictTool(
            model_id=DEFAULT_SENTIMENT_MODEL, api_key=DEMO_KEY, base_url=base_url
        )
        descriptions["FyreToolkit"] = (
            f"FyreToolkitPredictTool on the emulator (model {DEFAULT_SENTIMENT_MODEL!r})"
        )
    return Backends(llm, pii, sentiment, descriptions)
