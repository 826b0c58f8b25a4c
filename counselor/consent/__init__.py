"""Informed consent: the practice's versioned consent text and each partner's acknowledgement."""
