"""One module per `vidlabel` subcommand; see `vidlabel.cli.COMMANDS`."""
