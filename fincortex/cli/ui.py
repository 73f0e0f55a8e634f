"""`fincortex ui`: start the Streamlit dashboard on the packaged app with this CLI's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

# Same flags as the other commands (declared here: importing fincortex.cli would be circular).
DbOption = Annotated[Optional[Path], typer.Option("--db", help="DuckDB file (env FINCORTEX_DB).")]
MirrorOption = Annotated[
    Optional[Path],
    typer.Option("--mirror", help="Local data mirror laid out like shared/data (env FINCORTEX_DATA_MIRROR)."),
]


def streamlit_command(port: int, host: str, max_upload_mb: int = 200) -> list[str]:
    """The `streamlit run` line for the packaged app (headless: the user opens the URL)."""
    from importlib import resources

    app_path = Path(str(resources.files("fincortex.ui") / "app.py"))
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path),
        "--server.port",
        str(port),
        "--server.address",
        host,
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button: this is an app, not a Streamlit dev session
        "--server.maxUploadSize",
        str(max_upload_mb),  # Streamlit refuses bigger uploads before they reach the app (ui/uploads.py checks too)
        "--server.enableXsrfProtection",
        "true",
    ]


def register(app: typer.Typer) -> None:
    """Attach `ui` to the main app."""
    @app.command("ui")
    def ui(
        db: DbOption = None,
        mirror: MirrorOption = None,
        port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8501,
        host: Annotated[
            str, typer.Option("--host", help="Address to bind (0.0.0.0 to serve the network).")
        ] = "127.0.0.1",
        home: Annotated[
            Optional[Path], typer.Option("--home", help="fincortex home (env FINCORTEX_HOME).")
        ] = None,
    ) -> None:
        """Start the analyst dashboard (Streamlit) on http://HOST:PORT."""
        from fincortex import access
        from fincortex.config import Settings

        if not 0 < port < 65536:
            raise typer.BadParameter(f"port {port} is outside 1..65535", param_hint="--port")
        if access.bind_needs_auth(host) and access.configured_password() is None:
            raise typer.BadParameter(
                f"refusing to serve {host} without authentication: anyone who can reach it could read and ingest "
                f"data. Set {access.PASSWORD_ENV} (the dashboard then asks for it), or bind 127.0.0.1.",
                param_hint="--host")
        env = dict(os.environ)
        env[access.HOST_ENV] = host  # the app asks for the password whenever this is not loopback
        # the dashboard reads the same FINCORTEX_* settings as the SDK: pass the flags through env
        passed = {
            "FINCORTEX_DB": db,
            "FINCORTEX_MIRROR": mirror,  # read before FINCORTEX_DATA_MIRROR by Settings.from_env
            "FINCORTEX_DATA_MIRROR": mirror,
            "FINCORTEX_HOME": home,
        }
        for name, value in passed.items():
            if value is not None:
                env[name] = str(Path(value).expanduser().resolve())
        cmd = streamlit_command(port, host, Settings.from_env().ui_upload_max_mb)
        typer.echo(f"fincortex dashboard on http://{host}:{port}  (Ctrl+C stops it)")
        sys.stdout.flush()
        # become the server (no wrapper process): signals and the exit status are streamlit's own
        os.execve(cmd[0], cmd, env)
