from reporting.adapters.tables import metadata
from reporting.settings import ReportingSettings
from shared import messaging
from shared.migrations import run_env

run_env([metadata, messaging.metadata], ReportingSettings)
