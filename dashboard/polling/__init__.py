"""The polling economy: every upstream exchange the dashboard makes, and what it knows, and what
its failures mean for a person (`problems`).

`reads` is what views and commands call; `gate` holds the one client, whose every exchange
is paid from the shared per-minute `budget`; `economy`, `store` and `singleflight` keep
upstream calls independent of viewers. Everything lives in Django's cache (local memory in one
process, Redis across several), so every process and thread shares one budget and one copy of
what is known. See ARCHITECTURE.md and README.md.
"""
