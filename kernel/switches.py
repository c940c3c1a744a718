"""Turning one speed device off, to measure the product with and without it (bench/ab.py).

`FINOBS_NO_<DEVICE>=1` (finobs.settings.SPEED_DEVICES_OFF) puts in the device's place the plain code a
Django project would write; docs/performance.md gives each device's figure both ways and the command that
measures it. A module reads its device's switch once, when it is imported.
"""

from django.conf import settings


def device_off(device: str) -> bool:
    """True if FINOBS_NO_<device>=1 turned this speed device off in this process."""
    if device not in settings.SPEED_DEVICES:
        raise ValueError(f"{device!r} is not one of settings.SPEED_DEVICES")
    return device in settings.SPEED_DEVICES_OFF
