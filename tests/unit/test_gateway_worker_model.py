"""The gateway's worker model: its rate limits hold for the gateway as a whole, or it does not start."""

import pytest

from api_gateway import create_app
from shop_common.settings import load_settings
from tests.support import TEST_JWT_SECRET


def gateway_config(**settings):
    return {"TESTING": True, "JWT_SECRET_KEY": TEST_JWT_SECRET, **settings}


def test_the_gateway_runs_one_worker_by_default(tmp_path):
    assert load_settings("gateway", environ={}, root=tmp_path)["GUNICORN_WORKERS"] == "1"


def test_per_process_counters_with_several_workers_are_refused_at_start():
    with pytest.raises(RuntimeError, match="GUNICORN_WORKERS=4 with RATELIMIT_STORAGE_URI=memory://"):
        create_app(gateway_config(RATELIMIT_ENABLED=True, GUNICORN_WORKERS=4, RATELIMIT_STORAGE_URI="memory://"))


@pytest.mark.parametrize(
    "enabled, workers, storage",
    [
        (True, 1, "memory://"),  # one process counts for the whole gateway
        (True, 4, "redis://127.0.0.1:6379"),  # every worker counts in Redis
        (False, 4, "memory://"),  # no limits (benchmarks): any number of workers
    ],
)
def test_counters_that_hold_for_the_whole_gateway_are_accepted(enabled, workers, storage):
    app = create_app(gateway_config(RATELIMIT_ENABLED=enabled, GUNICORN_WORKERS=workers, RATELIMIT_STORAGE_URI=storage))
    assert app.config["GUNICORN_WORKERS"] == workers
