"""Lambda entry points (thin): ``api.handler`` for API Gateway, ``worker.handler`` for SQS."""
