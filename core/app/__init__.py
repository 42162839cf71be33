"""The application layer both clients share: settings, secrets, accounts, folder pairs,
live sync (watching + schedule), pause, progress, logs, the bundled emulator, autostart.

The CLI (``core/cli``) and the desktop app (``gui/``) are thin faces over this package;
a capability is written here once. It drives the engine (``core/engine``) and never
imports a client.
"""
