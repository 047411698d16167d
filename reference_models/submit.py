"""Submit exported baselines to a challenge phase through the public REST API.

Baselines go through the same client and endpoint as any participant's model file, with their
metadata (backbone, strategy, trainable and total parameters) so the leaderboard can plot
score against trainable size.
"""

from __future__ import annotations

from pathlib import Path


def submit_model_file(url: str, token: str, phase: int, model_file: Path, row: dict) -> dict:
    """Upload one exported model file; returns the platform's submission record."""
    from fetalbench.api import Client

    metadata = {
        "method_name": f"reference {row['model']} strategy {row['strategy']}",
        "description": row["title"],
        "backbone": row["model"],
        "strategy": row["strategy"],
        "trainable_parameters": str(row["trainable_parameters"]),
        "total_parameters": str(row["total_parameters"]),
    }
    return Client(url=url, token=token).submit(phase, model_file, metadata)
