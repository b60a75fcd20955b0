# The hub's image (target `hub`, the default for every Airflow service), built from the project's lock file,
# and the sandbox's (target `sandbox`: the hub plus the developer tools in tools/, which the hub image leaves out).
# It holds everything a machine needs (DAGs, plugins, include/ with config and SQL): no bind mounts are
# needed, so the same image runs on any number of machines. docker-compose.dev.yml mounts the working
# tree over these folders for development.
FROM python:3.11-slim-bookworm AS hub

ARG AIRFLOW_UID=50000

ENV PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    GX_ANALYTICS_ENABLED=false \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# curl: the health checks of Airflow's official compose file; dumb-init: PID 1 that forwards signals
# (DUMB_INIT_SETSID=0 on the Celery worker lets it shut down warm, as in Airflow's official image).
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl dumb-init \
    && rm -rf /var/lib/apt/lists/*

# The folders the compose file mounts volumes on exist in the image, owned by the Airflow user, so a
# fresh named volume starts with that ownership (airflow-init chowns them again for another AIRFLOW_UID).
RUN useradd --create-home --uid "${AIRFLOW_UID}" --gid 0 airflow \
    && mkdir -p /opt/airflow/logs /opt/airflow/auth /opt/crmhub/data /opt/crmhub/tls \
    && chown -R "${AIRFLOW_UID}:0" /opt/airflow /opt/crmhub
WORKDIR /opt/crmhub

COPY requirements.txt /opt/crmhub/requirements.txt
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml /opt/crmhub/
COPY plugins /opt/crmhub/plugins
RUN pip install --no-cache-dir --no-deps -e .
COPY include /opt/crmhub/include
COPY dags /opt/crmhub/dags
RUN chown -R "${AIRFLOW_UID}:0" /opt/crmhub/plugins /opt/crmhub/include /opt/crmhub/dags

USER ${AIRFLOW_UID}
ENTRYPOINT ["/usr/bin/dumb-init", "--"]

# The fake vendor APIs and the data generator (crmhub_dev): only the compose profile "sandbox" runs them.
FROM hub AS sandbox
ARG AIRFLOW_UID=50000
USER root
COPY tools /opt/crmhub/tools
RUN pip install --no-cache-dir --no-deps -e . && chown -R "${AIRFLOW_UID}:0" /opt/crmhub/tools
USER ${AIRFLOW_UID}
