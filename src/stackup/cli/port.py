"""`stackup port SERVICE [--url]`: one service's port, for scripts."""

from __future__ import annotations

import click

from stackup.cli.base import (
    Context,
    StackupCommand,
    check_names,
    complete_services,
    examples,
    global_options,
    handle_errors,
)


@click.command(
    name="port", cls=StackupCommand, short_help="Print one service's port (or URL), for scripts.",
    epilog=examples(
        ("stackup port backend", "18000, or where the running stack has it"),
        ("stackup port backend --url", "http://localhost:18000/"),
        ("curl \"$(stackup -p job1 port backend --url)api/health/\"", "in a script"),
    ),
)
@click.argument("service", metavar="SERVICE", shell_complete=complete_services)
@click.option("--url", "as_url", is_flag=True, help="Print its root URL instead (as `ports`).")
@global_options()
@click.pass_obj
@handle_errors
def command(obj: Context, service: str, as_url: bool) -> None:
    """Print SERVICE's port: the one it runs on while the stack runs (after an offset,
    `--port-offset auto` too), else the stack file's. Nothing else goes to stdout.

    Exit codes: 0 printed; 2 no such service, or it has no port.
    """
    from stackup.app import portview

    (name,) = check_names((service,))
    port, url = portview.service_port(obj.state_dir, name, obj.load)
    click.echo(url if as_url else port)
