"""links of airflow-provider-pipelines."""
