"""Command line of the benchmarks: ``python -m pipeline.bench qrs --db DIR [options]``.

Run ``python -m pipeline.bench qrs --help`` for a benchmark's options.
"""

from __future__ import annotations

import sys

from pipeline.bench import intervals, qrs, speed

# One entry per benchmark: name on the command line -> its main(argv) returning an exit status.
BENCHMARKS = {"qrs": qrs.main, "intervals": intervals.main, "speed": speed.main}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help") or args[0] not in BENCHMARKS:
        names = ", ".join(sorted(BENCHMARKS))
        print(f"usage: python -m pipeline.bench {{{names}}} [options]   (NAME --help for its options)")
        return 0 if args and args[0] in ("-h", "--help") else 2
    return BENCHMARKS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
