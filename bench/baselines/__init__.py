"""Bare apps the benchmark cases compare the console against."""
