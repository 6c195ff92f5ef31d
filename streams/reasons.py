"""Why a listen ended, as the ``listen_ended`` event's ``reason`` says (README, API)."""

NOT_FRIENDS = "not_friends"
"""The friendship ended (either side)."""
LOGGED_OUT = "logged_out"
"""The listener's login ended: a logout, a new password, deactivation, a session deleted
or expired."""
