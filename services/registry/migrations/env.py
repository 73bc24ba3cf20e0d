from shared import messaging
from shared.migrations import run_env

from registry.adapters.tables import metadata
from registry.settings import RegistrySettings

run_env([metadata, messaging.metadata], RegistrySettings)
