"""What partners see through their personal link; never Flask-Login or the counselor's session."""
