"""The offline emulator of all four vendors: the app's default connection and the tests' truth.

One Starlette app mounts each vendor under its prefix (`/azure`, `/veriff`, `/uqudo`, `/glair`)
and an admin API under `/_sandbox/`. It is served in-process through `SandboxTransport` (no
port, no network) or on a socket by `python -m app.sandbox`.

The vendor modules are written from `shared/providers/*.md`, independently of the clients in
`app/vendors/`: no wire code is shared, so a misreading in one is caught by the other.
"""

# Here rather than in `app.sandbox.app`, so the service can name the in-process origin
# without importing the emulator.
IN_PROCESS_ORIGIN = "http://sandbox.facedesk"
