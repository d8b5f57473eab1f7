"""Improvement plans (issue: plans). Models are added by the plans work."""
