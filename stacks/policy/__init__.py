"""Policy rules of the stacks (rules.py, plain functions) and their pulumi-policy pack (__main__.py)."""
