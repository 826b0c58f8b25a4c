"""Safety alerts: raised by screening answers, shown to the counselor only, closed with a note."""
