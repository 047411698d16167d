"""Challenges, phases, hidden truth sets, submissions, evaluations and leaderboards."""
