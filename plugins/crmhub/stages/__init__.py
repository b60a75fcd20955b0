"""What each DAG task does, as plain functions: DAG files only wire these together."""
