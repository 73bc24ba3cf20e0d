"""Registry service: organisations, classes and the student record (学籍)."""
