//! The interactive console: terminal setup/restore and the event loop.
