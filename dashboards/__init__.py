"""Dashboards and score cards: pages that read metric snapshots (never raw responses), scoped per user."""
