"""triggers of airflow-provider-pipelines."""
