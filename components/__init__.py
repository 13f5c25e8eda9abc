"""Kubeflow Pipelines components: one per stage, each a thin call into fa_core.stages."""
