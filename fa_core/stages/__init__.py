"""Pipeline stages as plain functions: config and paths in, paths and metrics out.

The CLI, DVC and the Kubeflow components all call these; no stage logic lives anywhere else.
"""
