"""The Kubeflow pipeline: DAG, GPU/retry/Kubernetes settings, compile and submit."""
