from pathlib import Path

from attendance.bootstrap import create_app
from attendance.settings import AttendanceSettings
from shared.cli import main

main(Path(__file__).resolve().parents[1], AttendanceSettings, create_app)
