"""Server-rendered pages: challenge pages, submission form, leaderboards, Pareto plots."""
