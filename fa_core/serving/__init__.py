"""Serving an exported model: ONNX Runtime, NumPy and Pillow only (no torch import)."""
