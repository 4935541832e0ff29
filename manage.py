#!/usr/bin/env python
"""Django's command-line utility for 粵藏 Yuecang."""

import sys


def main() -> None:
    """Run a management command with the settings that DJANGO_ENV names."""
    from archive.settings import use_settings_for_env

    use_settings_for_env()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
