"""The resource library for learning together: a counselor's books, articles, courses and
workshops, attached to homework for partners to read."""
