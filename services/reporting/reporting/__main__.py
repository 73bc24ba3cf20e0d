from pathlib import Path

from reporting.bootstrap import create_app
from reporting.settings import ReportingSettings
from reporting.usecases import rebuild
from shared.cli import main

main(Path(__file__).resolve().parents[1], ReportingSettings, create_app, commands={
    "rebuild": ("empty the read model and replay the topics from the beginning (service stopped)", rebuild.main)})
