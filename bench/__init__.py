"""`make bench`: how fast NexusCore creates organisations and serves a signed-in page.

`python -m bench` (see `__main__.py`) builds a throw-away database, `nexuscore_bench`,
seeds the demo organisations into it, times provisioning in a Django process
(`provisioning.py`) and loads two gunicorn servers with wrk (`throughput.py`): the acme dashboard
and a bare Django view (`bare.py`). Each result is one JSON line on stdout; progress goes to
stderr. docs/benchmarks.md explains every line.
"""
