from cases.adapters.tables import metadata
from cases.settings import CasesSettings
from shared import messaging
from shared.migrations import run_env

run_env([metadata, messaging.metadata], CasesSettings)
