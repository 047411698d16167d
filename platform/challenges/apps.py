from django.apps import AppConfig


class ChallengesConfig(AppConfig):
    name = "challenges"
    verbose_name = "Challenges"

    def ready(self) -> None:
        # Imported for their side effects: system checks, and the signals that re-rank a
        # board when its phase's ranking changes.
        from challenges import board_triggers, checks  # noqa: F401
