"""Stop signals for the long-running commands: the first one stops, any later one is absorbed."""

from __future__ import annotations

import atexit
import signal
from collections.abc import Sequence


def interrupt_on_first(*stop_signals: signal.Signals) -> None:
    """Make the first of `stop_signals` raise KeyboardInterrupt; ignore the ones after it.

    Ctrl-C reaches every process of the terminal's group and `demo` then stops its children
    too, so a second signal often arrives while the first is being handled: it must not raise
    again in the clean-up. Signals already ignored (nohup, a job started with `&`) stay so.
    At exit they are left to the system to ignore: Python puts its handlers back to the
    default action as the interpreter shuts down, and a second signal arriving then (a busy
    machine can delay it past the first one's clean-up) would kill the process instead of
    letting it exit 0.
    """
    installed = [s for s in stop_signals if signal.getsignal(s) is not signal.SIG_IGN]
    stopping = False

    def interrupt_once(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    for stop_signal in installed:
        signal.signal(stop_signal, interrupt_once)
    atexit.register(ignore_stop_signals, installed)


def ignore_stop_signals(stop_signals: Sequence[signal.Signals]) -> None:
    """From now on the system ignores `stop_signals` (run at exit)."""
    for stop_signal in stop_signals:
        signal.signal(stop_signal, signal.SIG_IGN)
    # One that arrived just before is handled at the next Python call, and with its handler
    # now SIG_IGN Python reports "OSError: Signal N ignored due to race condition": it is.
    for _ in range(len(stop_signals) + 1):
        try:
            _checkpoint()
        except OSError:
            continue
        break


def _checkpoint() -> None:
    """A Python call: signals that arrived are handled as it starts."""
