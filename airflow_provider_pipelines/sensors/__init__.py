"""sensors of airflow-provider-pipelines."""
