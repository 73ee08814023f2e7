"""CLI subcommands: each module defines ``register(subparsers)``; ``authapp.cli`` finds them."""
