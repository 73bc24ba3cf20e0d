from attendance.adapters.tables import metadata
from attendance.settings import AttendanceSettings
from shared import messaging
from shared.migrations import run_env

run_env([metadata, messaging.metadata], AttendanceSettings)
