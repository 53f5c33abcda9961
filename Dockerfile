# Airflow image with airflow-provider-pipelines installed from this checkout (see docker-compose.yaml).
FROM apache/airflow:3.3.2-python3.11

COPY --chown=airflow:root . /opt/airflow-provider-pipelines

# As in the official image docs: install as the airflow user and pin apache-airflow to the
# image's version so pip cannot upgrade or downgrade it while resolving the provider.
USER airflow
RUN pip install --no-cache-dir \
    "apache-airflow==${AIRFLOW_VERSION}" \
    "/opt/airflow-provider-pipelines[google]"
