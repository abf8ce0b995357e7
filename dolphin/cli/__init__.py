"""Command-line interface: one small module per subcommand, no logic beyond parsing and calling."""
