-- One database per service: no service reads another's tables.
CREATE DATABASE baoxue_registry;
CREATE DATABASE baoxue_attendance;
CREATE DATABASE baoxue_cases;
CREATE DATABASE baoxue_reporting;
