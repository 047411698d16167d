"""Server-rendered pages, one module per area (challenges, submissions, leaderboards, accounts)."""
