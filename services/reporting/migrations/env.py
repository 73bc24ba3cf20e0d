from shared import messaging
from shared.migrations import run_env

from reporting.adapters.tables import metadata
from reporting.settings import ReportingSettings

run_env([metadata, messaging.metadata], ReportingSettings)
