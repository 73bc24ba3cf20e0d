from registry.adapters.tables import metadata
from registry.settings import RegistrySettings
from shared import messaging
from shared.migrations import run_env

run_env([metadata, messaging.metadata], RegistrySettings)
