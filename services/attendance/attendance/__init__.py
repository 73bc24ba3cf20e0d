"""Attendance service: roll calls, leave, calendars and the 48-hour absence clock."""
