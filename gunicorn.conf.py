"""gunicorn reads this file from the folder it is started in: the settings live in the package,
so that an installed copy has them too (`-c python:lms.gunicorn_config`)."""
from lms.gunicorn_config import *  # noqa: F401,F403
