# One image for the four services; compose picks the service with `python -m <svc> migrate|serve`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The legal ladder's PDFs embed a CJK font subset (cases answers 503 without one).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# Dependencies first, so a code change does not reinstall them: install against empty package
# directories (the layout pyproject.toml maps), then again with the code.
COPY pyproject.toml ./
RUN mkdir -p shared/migration_steps devtools \
      services/registry/registry/domain services/registry/registry/adapters services/registry/registry/entrypoints \
      services/attendance/attendance/domain services/attendance/attendance/adapters services/attendance/attendance/entrypoints \
      services/cases/cases/domain services/cases/cases/adapters services/cases/cases/entrypoints \
      services/reporting/reporting/domain services/reporting/reporting/adapters services/reporting/reporting/entrypoints \
 && pip install -e . && rm -rf *.egg-info

# The code, with each service's alembic.ini and migrations/: `python -m <svc> migrate` finds them
# next to the package (services/<svc>/), which is why the install is editable, from /app.
COPY shared ./shared
COPY devtools ./devtools
COPY services ./services
RUN pip install --no-deps -e . \
 && find /app -name __pycache__ -prune -exec rm -rf {} + \
 && groupadd --system --gid 10001 baoxue \
 && useradd --system --no-create-home --uid 10001 --gid 10001 baoxue
USER 10001:10001

EXPOSE 8001 8002 8003 8004
CMD ["python", "-m", "registry", "serve"]
