"""What scoring does when other parts of finobs act."""

from scoring.services.registry import model_install_default
from scoring.services.rules import rules_install_defaults


def on_organisation_created(sender, *, organisation, actor, **kwargs) -> None:
    """A new organisation (running in its context) starts with the shipped rules and the default model."""
    rules_install_defaults(actor=actor)
    model_install_default(actor=actor)
