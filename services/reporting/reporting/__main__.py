from pathlib import Path

from shared.cli import main

from reporting.bootstrap import create_app
from reporting.settings import ReportingSettings

main(Path(__file__).resolve().parents[1], ReportingSettings, create_app)
