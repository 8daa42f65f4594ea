# planbot in a container: the wheel with every channel and PostgreSQL, run as a normal user.
#   docker build -t planbot .
#   docker run --env-file planbot.env planbot telegram
# See compose.yaml for PostgreSQL and a channel together, and README "Deploying".
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY dialogs dialogs
COPY exports exports
COPY prompts prompts
COPY storage storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[all]"

FROM python:3.11-slim
RUN useradd --system --create-home --home-dir /var/lib/planbot --shell /usr/sbin/nologin planbot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels "planbot[all]" && rm -rf /wheels
USER planbot
WORKDIR /var/lib/planbot
# SQLite (the default) lives in the volume; set PLANBOT_DATABASE_URL for PostgreSQL.
ENV PLANBOT_DATABASE_URL=sqlite:////var/lib/planbot/planbot.db \
    PLANBOT_EXPORT_DIR=/var/lib/planbot \
    PYTHONUNBUFFERED=1
VOLUME ["/var/lib/planbot"]
# Settings, database (reachable, known schema, writable), templates and texts.
HEALTHCHECK --interval=60s --timeout=20s --start-period=20s --retries=3 CMD ["planbot", "check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["planbot"]
CMD ["telegram"]
