"""hooks of airflow-provider-pipelines."""
