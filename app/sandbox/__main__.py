"""Serve the sandbox on a socket: `python -m app.sandbox [--host 127.0.0.1] [--port 8765]`."""

from __future__ import annotations

import argparse
import sys

import uvicorn

from app.http import is_loopback_host
from app.sandbox.app import create_sandbox_app, vendor_mounts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.sandbox",
        description="FaceDesk sandbox: offline emulators of Azure AI Face, Veriff, uqudo and "
        "GLAIR Vision (scores are not biometric).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    if not is_loopback_host(args.host):
        print(
            "warning: serving the sandbox beyond this machine; it has no real security.",
            file=sys.stderr,
        )
    app, _state = create_sandbox_app()
    origin = f"http://{args.host}:{args.port}"
    print(f"FaceDesk sandbox on {origin} (admin API: {origin}/_sandbox/)")
    for mount in vendor_mounts():
        creds = ", ".join(f"{k}={v}" for k, v in mount.credentials.items())
        print(f"  {mount.title:<14} {origin}{mount.base_path}   {creds}")
    sys.stdout.flush()
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
