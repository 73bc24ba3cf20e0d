# One image for the four services; compose picks the service with `python -m <svc> ...`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Dependencies first, so a code change does not reinstall them.
COPY pyproject.toml ./
RUN mkdir -p shared/migration_steps devtools \
      services/registry/registry/domain services/registry/registry/adapters services/registry/registry/entrypoints \
      services/attendance/attendance/domain services/attendance/attendance/adapters services/attendance/attendance/entrypoints \
      services/cases/cases/domain services/cases/cases/adapters services/cases/cases/entrypoints \
      services/reporting/reporting/domain services/reporting/reporting/adapters services/reporting/reporting/entrypoints \
 && pip install --no-cache-dir -e . && rm -rf *.egg-info

# The code, with each service's alembic.ini and migrations (python -m <svc> migrate reads them).
COPY shared ./shared
COPY devtools ./devtools
COPY services ./services
RUN pip install --no-cache-dir --no-deps -e . \
 && useradd --system --uid 10001 baoxue
USER baoxue

CMD ["python", "-m", "registry", "serve"]
