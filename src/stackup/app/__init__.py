"""Use cases behind the CLI verbs. Each returns data or an exit code; the CLI renders."""
