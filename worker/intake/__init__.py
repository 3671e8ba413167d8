"""The HTTP intake: a door into the same queue for services (JSON API) and browser forms."""

from __future__ import annotations

from worker.intake.app import create_app
from worker.intake.errors import ClientError
from worker.intake.forms import FormConfig, load_forms
from worker.intake.server import RunningIntake, main, start_in_thread
from worker.intake.settings import IntakeSettings

__all__ = [
    "ClientError",
    "FormConfig",
    "IntakeSettings",
    "RunningIntake",
    "create_app",
    "load_forms",
    "main",
    "start_in_thread",
]
