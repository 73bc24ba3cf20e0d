from pathlib import Path

from registry.bootstrap import create_app
from registry.settings import RegistrySettings
from shared.cli import main

main(Path(__file__).resolve().parents[1], RegistrySettings, create_app)
