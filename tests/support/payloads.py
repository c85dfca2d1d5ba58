"""Providers' documented webhook payloads, built once for the unit and the e2e tests."""

from __future__ import annotations

import json


def whatsapp_body(messages: list[dict], contacts: list[dict]) -> bytes:
    """A WhatsApp Business Cloud API webhook delivery (``messages`` field) of ``messages``."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "6285700000000",
                                    "phone_number_id": "106540352242922",
                                },
                                "contacts": contacts,
                                "messages": messages,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()
