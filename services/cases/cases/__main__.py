from pathlib import Path

from shared.cli import main

from cases.bootstrap import create_app
from cases.settings import CasesSettings

main(Path(__file__).resolve().parents[1], CasesSettings, create_app)
