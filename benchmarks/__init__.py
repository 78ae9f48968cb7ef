"""cptlaw's benchmarks: one module per docs/*.md page or BENCHMARKS.md section, run by name with
``python -m benchmarks NAME [args]`` (``python -m benchmarks --list`` lists them).  They share ``harness``; the
real-data cases they share are in ``_cases``, the fit splits in ``cptlaw.datasets.splits``."""
