"""Benchmarks for deepinfra_async against a raw-aiohttp floor and the OpenAI SDK.

Run ``python -m benchmarks`` (see ``benchmarks/README.md``). Every measured client runs in a
fresh child process per workload, pinned to its own core, against a loopback server pinned to
another; CPU time (user + sys) is reported as a ratio to the floor measured in the same run.
"""
