"""MLflow tracking, model registration and pulling: the only package that imports mlflow."""
