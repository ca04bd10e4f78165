"""Stop signals for the long-running commands: the first one stops, any later one is absorbed."""

from __future__ import annotations

import signal


def interrupt_on_first(*stop_signals: signal.Signals) -> None:
    """Make the first of `stop_signals` raise KeyboardInterrupt; ignore the ones after it.

    Ctrl-C reaches every process of the terminal's group and `demo` then stops its children
    too, so a second signal often arrives while the first is being handled: it must not raise
    again in the clean-up. Signals already ignored (nohup, a job started with `&`) stay so.
    """
    stopping = False

    def interrupt_once(signum: int, frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    for stop_signal in stop_signals:
        if signal.getsignal(stop_signal) is not signal.SIG_IGN:
            signal.signal(stop_signal, interrupt_once)
