"""What the four Baoxue services share: envelope, outbox, inbox, settings, errors, health."""
