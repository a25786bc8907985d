# fakepay as a container: `docker build -t fakepay .`, then `docker run -p 8080:8080 fakepay`.
# Without a registry to pull the base from: `tools/container build` (docs/container-and-ci.md, "Without a registry").
# Configure it with FAKEPAY_* variables (see `fakepay serve --help`) or with arguments to `serve`.
ARG BASE_IMAGE=python:3.12-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

COPY . /tmp/fakepay
RUN pip install /tmp/fakepay && rm -rf /tmp/fakepay \
    && groupadd --gid 10001 fakepay \
    && useradd --uid 10001 --gid fakepay --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fakepay

USER 10001:10001
ENV FAKEPAY_HOST=0.0.0.0 FAKEPAY_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=3s --timeout=2s --start-period=30s --retries=3 CMD ["python", "-c", \
    "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/__fakepay/health' % (os.environ.get('FAKEPAY_PORT') or '8080'), timeout=2)"]
ENTRYPOINT ["fakepay", "serve"]
