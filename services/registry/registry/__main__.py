from pathlib import Path

from shared.cli import main

from registry.bootstrap import create_app
from registry.settings import RegistrySettings

main(Path(__file__).resolve().parents[1], RegistrySettings, create_app)
