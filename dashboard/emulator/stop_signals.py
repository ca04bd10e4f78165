"""Stop signals for the long-running commands: the first one stops, any later one is absorbed."""

from __future__ import annotations

import signal


def interrupt_on_first(*stop_signals: signal.Signals) -> None:
    """Make the first of `stop_signals` raise KeyboardInterrupt; ignore the ones after it.

    Ctrl-C reaches every process of the terminal's group and `demo` then stops its children
    too, so a second signal often arrives while the first is being handled: it must not raise
    again in the clean-up. Signals already ignored (nohup, a job started with `&`) stay so.
    The later ones are ignored by the operating system, not by a Python handler: Python puts
    its handlers back to the default action as the interpreter shuts down, and a second signal
    arriving then (a busy machine delays it past the first one's clean-up) would kill the
    process instead of letting it exit 0.
    """
    installed = [s for s in stop_signals if signal.getsignal(s) is not signal.SIG_IGN]

    def interrupt_once(signum: int, frame: object) -> None:
        for stop_signal in installed:
            signal.signal(stop_signal, signal.SIG_IGN)
        raise KeyboardInterrupt

    for stop_signal in installed:
        signal.signal(stop_signal, interrupt_once)
