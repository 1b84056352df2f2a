"""Date formats for LANGUAGE_CODE: the locale's formats take precedence over the settings."""
