# ewb: one image for every role (web, worker, scheduler, migrate); docker-compose.yml picks
# the command. espeak-ng speaks the loudspeaker text when broadcast_tts is on.
FROM python:3.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends espeak-ng \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --create-home --home-dir /var/lib/ewb ewb

WORKDIR /src
COPY pyproject.toml README.md ./
COPY warning ./warning
COPY subscribers ./subscribers
COPY channels ./channels
COPY delivery ./delivery
COPY templates ./templates
COPY store ./store
COPY web ./web
COPY config ./config
COPY sim ./sim
COPY ewb ./ewb
RUN pip install --no-cache-dir . && rm -rf /src

USER ewb
WORKDIR /var/lib/ewb
ENV EWB_VAR_DIR=/var/lib/ewb
EXPOSE 8080
CMD ["ewb", "serve", "--host", "0.0.0.0"]
