"""Runs one Suara service in this process: ``python -m shared.runner intake``.

The documented way to start a single service (to scale by hand, or in fault tests); ``make run``
starts one such process per service. SIGTERM and SIGINT stop the service cleanly: it turns not
ready (``/health/ready`` 503), waits ``SUARA_DRAIN_S``, then stops taking work and finishes
what it has.
"""

import eventlet

eventlet.monkey_patch()  # first, before anything imports socket, threading or pymongo

import argparse  # noqa: E402
import logging  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared import config, observability, probes  # noqa: E402
from shared.registry import SERVICE_CLASSES, service_class  # noqa: E402

EXIT_CONFIG_ERROR = 2
EXIT_CONTAINER_DIED = 3


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("service", choices=sorted(SERVICE_CLASSES))
    args = parser.parse_args(argv)
    try:
        cfg = config.load(args.service)
    except config.ConfigError as exc:  # before it takes any work
        print(f"{args.service}: configuration error: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    observability.configure_logging(args.service, cfg["LOG_LEVEL"], cfg["LOG_FORMAT"])
    observability.configure_tracing(args.service, cfg["OTLP_ENDPOINT"])
    return serve(cfg, service_class(args.service))


def serve(cfg: dict, cls) -> int:
    """Run the service ``cls`` until SIGTERM or SIGINT (exit status 0), or until its container
    dies (``EXIT_CONTAINER_DIED``): a killed container leaves the process alive but serving
    nothing, so the process ends and make run, docker compose or Kubernetes start a new one."""
    name = cls.name
    runner = ServiceRunner(cfg)
    runner.add_service(cls)
    stopping = eventlet.event.Event()

    def on_signal(signum, frame):
        if not stopping.ready():
            stopping.send(("signal", signum))

    def watch_container():
        try:
            runner.wait()
        except BaseException as exc:  # whatever killed it
            detail = exc
        else:
            detail = None
        if not stopping.ready():
            stopping.send(("died", detail))

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    runner.start()
    log = logging.getLogger("suara")
    log.info("%s started (http %s)", name, cfg["WEB_SERVER_ADDRESS"])
    eventlet.spawn(watch_container)
    why, detail = stopping.wait()
    if why == "died":
        log.critical("%s: the service container died (%r); exiting", name, detail)
        with eventlet.Timeout(10, False):
            runner.kill()
        return EXIT_CONTAINER_DIED
    # not ready from now on: a load balancer stops sending requests; then the service stops
    # taking work, finishes what it has (an unacknowledged message goes back to its queue)
    probes.DRAINING.set()
    log.info("%s stopping: not ready, draining for %.1fs", name, cfg["DRAIN_S"])
    eventlet.sleep(cfg["DRAIN_S"])
    with eventlet.Timeout(20, False):
        runner.stop()
        return 0
    runner.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
