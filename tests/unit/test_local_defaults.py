"""What `make run` (deploy/platform.py --with-servers) fills in so the local platform tells
people into Mailpit, without overriding anything the operator set."""

from deploy.platform import local_defaults
from shared import config


def test_the_local_platform_mails_citizens_and_every_department():
    extra = local_defaults({"SUARA_API_KEYS": "city-app:k1"})
    key = extra["SUARA_NOTIFICATION_API_KEY"]
    assert len(key) >= 32
    assert extra["SUARA_API_KEYS"] == f"city-app:k1,notification:{key}"
    assert extra["SUARA_QUIET_HOURS"] == ""
    loaded = config.load("notification", {**extra, "SUARA_AMQP_URI": "amqp://x@127.0.0.1/"})
    assert loaded["DEPARTMENT_EMAILS"]["bpbd"] == "bpbd@dinas.suara.localhost"
    assert loaded["NOTIFICATION_API_KEY"] in loaded["API_KEYS"]
    assert loaded["QUIET_HOURS"] is None
    assert local_defaults({})["SUARA_NOTIFICATION_API_KEY"] != key  # fresh each run


def test_what_the_operator_set_stays():
    env = {
        "SUARA_NOTIFICATION_API_KEY": "mine",
        "SUARA_DEPARTMENT_EMAILS": "",
        "SUARA_QUIET_HOURS": "22:00-05:00",
    }
    assert local_defaults(env) == {}
