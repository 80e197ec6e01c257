"""Benchmarks of pipeline steps against reference annotations: `python -m pipeline.bench NAME ...`.

Each benchmark is one module named after the step it scores (`pipeline.bench.qrs` scores
`pipeline.qrs`) with a ``main(argv)`` that `pipeline.bench.__main__` dispatches to.
"""
