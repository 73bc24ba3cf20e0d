from shared import messaging
from shared.migrations import run_env

from attendance.adapters.tables import metadata
from attendance.settings import AttendanceSettings

run_env([metadata, messaging.metadata], AttendanceSettings)
