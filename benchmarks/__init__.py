"""Benchmarks of airflow-provider-cellcast: ``bash benchmarks/run`` (see benchmarks/README.md)."""
