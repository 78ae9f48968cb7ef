"""Bounds on sizes derived from user input, checked before anything is allocated."""

MAX_STEPS = 50_000_000  # steps of one run's dense LR (400 MB as float64); real runs reach about 10^6
MAX_NESTING = 32  # depth of a schedule spec (a real one is 3-4 deep)
MAX_LOSS = 30.0  # nats: above ln(10^13); a larger "loss" is a perplexity or a typo
