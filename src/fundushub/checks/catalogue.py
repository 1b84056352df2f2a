"""Every check there is: importing a check's module registers it (order = the order they run)."""

# The order they run in, not the alphabet's:
# isort: off
from fundushub.checks import gradability  # noqa: F401
from fundushub.checks import laterality  # noqa: F401
from fundushub.checks import twins  # noqa: F401
from fundushub.checks import burned_text  # noqa: F401
# isort: on
