"""Plain-text formatting shared by pages, charts and template filters. Plain Python."""

from __future__ import annotations


def format_duration(seconds: float | None) -> str:
    """Compact human duration: 850 ms, 4.2 s, 3 min 5 s, 2 h 10 min."""
    if seconds is None:
        return "—"
    if seconds < 0:
        seconds = 0
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{round(seconds)} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
