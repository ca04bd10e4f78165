"""The polling economy behind dashboard.polling.reads: shared cache, single flight, budget.

Everything lives in Django's cache (local memory in one process, Redis across several), so
every process and thread shares one budget and one copy of what is known. See README.md.
"""
