"""gunicorn settings for production: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Each value can be changed from the environment without editing this file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Synchronous workers: the ledger's requests are short database reads; long work runs as jobs.
# Two per core plus one is gunicorn's rule of thumb.
workers = int(os.environ.get("GUNICORN_WORKERS", (os.cpu_count() or 1) * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
# A request slower than this is killed and logged: a page should answer in well under a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
graceful_timeout = 30
# Recycle workers now and then (a slow leak in any library cannot grow without bound).
max_requests = 2000
max_requests_jitter = 200
# The app writes its own JSON request log (config/middleware.py): no second access log here.
accesslog = None
errorlog = "-"
# Behind the reverse proxy on the same host only; DJANGO_PROXY_COUNT tells Django about it.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
