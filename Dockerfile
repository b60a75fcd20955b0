# One image for every Airflow service and the sandbox, built from the project's lock file.
FROM python:3.11-slim-bookworm

ENV PYTHONUNBUFFERED=1 \
    AIRFLOW_HOME=/opt/airflow \
    GX_ANALYTICS_ENABLED=false \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 50000 airflow && mkdir -p /opt/airflow /opt/crmhub && chown -R airflow /opt/airflow /opt/crmhub
WORKDIR /opt/crmhub

COPY requirements.txt /opt/crmhub/requirements.txt
RUN pip install --no-cache-dir -r requirements.txt

COPY pyproject.toml /opt/crmhub/
COPY plugins /opt/crmhub/plugins
RUN pip install --no-cache-dir --no-deps -e .

USER airflow
