"""`flask` commands for database and account chores."""

from __future__ import annotations

import click
from flask import Flask
from flask_migrate import upgrade

from app.auth.accounts import EmailTaken, create_user
from app.auth.passwords import MIN_PASSWORD_LENGTH


def register_commands(app: Flask) -> None:
    @app.cli.command("setup")
    def setup() -> None:
        """Apply migrations (the signing key is created when the app starts)."""
        upgrade()
        click.echo("database is up to date")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--name", default="", help="Display name.")
    @click.password_option(help="At least 8 characters.")
    def create_user_command(email: str, name: str, password: str) -> None:
        """Create an account with EMAIL."""
        if len(password) < MIN_PASSWORD_LENGTH:
            raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters")
        try:
            user = create_user(email, password, name)
        except EmailTaken:
            raise click.ClickException(f"{email} is already registered") from None
        click.echo(f"created user {user.id} <{user.email}>")
