"""Cases service: one child, one case; the dual report; persuasion and close-out."""
