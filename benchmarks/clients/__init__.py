"""The measured clients: one module each, run as a child process by ``benchmarks.runner``.

Each module defines an :class:`~benchmarks.clients._harness.Adapter` and hands it to
:func:`~benchmarks.clients._harness.main`, which runs the jobs given on the command line and
prints one ``RESULT {json}`` line per job.
"""
