"""operators of airflow-provider-pipelines."""
