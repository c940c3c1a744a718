"""Signals of organisations."""

from django.dispatch import Signal

# Sent by accounts.services.organisation_create inside the new organisation's context, once it exists:
# apps set up what a new organisation starts with (scoring: the shipped rules and default model).
# Arguments: organisation, actor.
organisation_created = Signal()
