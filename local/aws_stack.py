"""The local AWS: moto on loopback with ``template.yaml``'s resources (``LocalAwsStack``).

The pieces live in :mod:`local.moto_server`, :mod:`local.aws_resources` and
:mod:`local.stack_description`; this module re-exports them. State lives in moto's
memory: stopping the server forgets everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from local.aws_resources import create_bucket, create_queues, create_resources, create_table
from local.moto_server import DEFAULT_AWS_PORT, LOCAL_CREDENTIALS, MotoServer
from local.ports import PortInUseError
from local.stack_description import (
    BucketInfo,
    FunctionInfo,
    QueueInfo,
    StackDescription,
    TableInfo,
)
from local.template import DEFAULT_ACCOUNT_ID, DEFAULT_REGION, DEFAULT_STACK_NAME, Template

__all__ = [
    "DEFAULT_AWS_PORT",
    "LOCAL_CREDENTIALS",
    "BucketInfo",
    "FunctionInfo",
    "LocalAwsStack",
    "MotoServer",
    "PortInUseError",
    "QueueInfo",
    "StackDescription",
    "TableInfo",
    "create_bucket",
    "create_queues",
    "create_resources",
    "create_table",
]


class LocalAwsStack:
    """moto on loopback with the template's resources: ``start()``/``stop()``/``url``.

    ``template`` is a path to ``template.yaml`` or a loaded :class:`Template`.
    """

    def __init__(
        self,
        template: Template | Path | str = "template.yaml",
        *,
        host: str = "127.0.0.1",
        port: int = DEFAULT_AWS_PORT,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = DEFAULT_REGION,
        parameter_overrides: Mapping[str, str] | None = None,
        verbose: bool = False,
        in_process: bool = True,
    ) -> None:
        if isinstance(template, Template):
            self._template = template
        else:
            self._template = Template.load(
                template,
                stack_name=stack_name,
                region=region,
                account_id=DEFAULT_ACCOUNT_ID,
                parameter_overrides=parameter_overrides,
            )
        self._server = MotoServer(host, port, verbose=verbose, in_process=in_process)
        self.description: StackDescription | None = None

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def template(self) -> Template:
        """The template bound to the running server (after :meth:`start`)."""
        return self._template

    def start(self) -> StackDescription:
        if self.description is not None:
            return self.description
        url = self._server.start()
        try:
            self._template = self._template.bind(endpoint_url=url)
            self.description = create_resources(self._template)
        except BaseException:
            self._server.stop()
            raise
        return self.description

    def stop(self) -> None:
        self.description = None
        self._server.stop()

    def __enter__(self) -> StackDescription:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
