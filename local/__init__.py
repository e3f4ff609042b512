"""The container-free local stack: moto server, fake Messages API, API shim, SQS poller."""
