from pathlib import Path

from shared.cli import main

from reporting.usecases import rebuild
from reporting.bootstrap import create_app
from reporting.settings import ReportingSettings

main(Path(__file__).resolve().parents[1], ReportingSettings, create_app, commands={
    "rebuild": ("empty the read model and replay the topics from the beginning (service stopped)", rebuild.main)})
