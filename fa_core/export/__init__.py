"""ONNX export of Extend-SAM models and its validation in ONNX Runtime."""
