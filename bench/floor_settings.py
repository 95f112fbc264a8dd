"""The signed-in floor, for the bench: the project's settings with one more page (floor_urls).

`DJANGO_SETTINGS_MODULE=bench.floor_settings` exists only in bench processes.
"""

from nexuscore.settings import *  # noqa: F403  (the project's settings, one line changed)

ROOT_URLCONF = "bench.floor_urls"
