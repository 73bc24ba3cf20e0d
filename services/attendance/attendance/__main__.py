from pathlib import Path

from shared.cli import main

from attendance.bootstrap import create_app
from attendance.settings import AttendanceSettings

main(Path(__file__).resolve().parents[1], AttendanceSettings, create_app)
