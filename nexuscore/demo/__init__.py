"""Demo data: `manage.py seed_demo` (the demo organisations and people of `make run` and the tests)
and `manage.py seed_scale` (many organisations, for benches and scale checks).

It composes every other app, so it sits above them all (docs/architecture.md, Layers). No
models; installed so that Django finds its commands.
"""
