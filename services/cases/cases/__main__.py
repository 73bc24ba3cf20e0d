from pathlib import Path

from cases.bootstrap import create_app
from cases.settings import CasesSettings
from shared.cli import main

main(Path(__file__).resolve().parents[1], CasesSettings, create_app)
