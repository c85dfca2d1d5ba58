"""Where each service's nameko class lives: the runner starts it, the OpenAPI document is
generated from it."""

from __future__ import annotations

import importlib

SERVICE_CLASSES = {
    "intake": "services.intake.service:IntakeService",
    "categorization": "services.categorization.service:CategorizationService",
    "notification": "services.notification.service:NotificationService",
    "reporting": "services.reporting.service:ReportingService",
}


def service_class(name: str):
    module, _, cls = SERVICE_CLASSES[name].partition(":")
    return getattr(importlib.import_module(module), cls)
