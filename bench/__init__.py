"""cs-console's benchmark harness: ``python -m bench [--quick] [--peers] [--only CASE ...]``.

Every case is measured against a baseline run in the same invocation, with the runs of
case and baseline interleaved, so that the noise of a shared machine falls on both and
the printed ratio means something even when the absolute numbers wander.
"""
