"""shared.runner ends the process (status 3) when its service container dies, so that the
supervisor (make run, docker compose, Kubernetes) starts a new one instead of a process that
stays alive serving nothing."""

import signal

import eventlet
from nameko.extensions import DependencyProvider
from nameko.timer import timer

from shared import runner


class Explodes(DependencyProvider):
    def worker_setup(self, worker_ctx):
        raise RuntimeError("a dependency broke: nameko kills the container")


class DoomedService:
    name = "reporting"
    broken = Explodes()

    @timer(interval=0.1)
    def tick(self):
        pass


def test_a_dead_container_ends_the_runner_with_status_3(service_config):
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with eventlet.Timeout(20):
            status = runner.serve(service_config("reporting"), DoomedService)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    assert status == runner.EXIT_CONTAINER_DIED == 3
