"""Infrastructure tests: template.yaml, the build recipes and their contract with the code."""
