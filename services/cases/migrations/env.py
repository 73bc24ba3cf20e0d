from shared import messaging
from shared.migrations import run_env

from cases.adapters.tables import metadata
from cases.settings import CasesSettings

run_env([metadata, messaging.metadata], CasesSettings)
