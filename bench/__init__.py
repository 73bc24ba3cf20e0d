"""Speed figures we track: one command each, printing its numbers (never timed tests)."""
