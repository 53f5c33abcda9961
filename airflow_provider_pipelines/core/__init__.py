"""core of airflow-provider-pipelines."""
