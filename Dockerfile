# Multi-stage build of agcomd: the same cgo build and tags as the Makefile,
# a small non-root runtime with the database on a volume.
#
# Ports: 8000 is the API. 9464 serves /metrics (and pprof when enabled)
# without a token: it is deliberately not EXPOSEd (so `docker run -P` does
# not publish it either); containers on the same network, such as a
# Prometheus, reach it. Publish it only if you mean to, or set
# METRICS_ADDR= (empty) to turn it off.

FROM golang:1.26-bookworm AS build
# The Go release the project builds with (as in the Makefile): the image's go
# fetches it from the module proxy, in the go mod download layer below.
ENV GOTOOLCHAIN=go1.27.3
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ENV CGO_ENABLED=1 GOFLAGS=-tags=sqlite_fts5 CGO_CFLAGS="-O2 -g -DSQLITE_ENABLE_QPSG"
RUN go build -trimpath -ldflags "-s -w" -o /out/agcomd ./cmd/agcomd

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/agcom --create-home agcom \
 && install -d -m 0700 -o agcom /var/lib/agcom/data
COPY --from=build /out/agcomd /usr/local/bin/agcomd
USER agcom
WORKDIR /var/lib/agcom
ENV DB_PATH=/var/lib/agcom/data/agcom.db \
    HOST=0.0.0.0 \
    PORT=8000 \
    METRICS_ADDR=0.0.0.0:9464
# A new volume takes the directory's owner and mode from the image.
VOLUME ["/var/lib/agcom/data"]
EXPOSE 8000
# HTTP, or HTTPS when TLS_CERT_FILE and TLS_KEY_FILE are set (the
# certificate names the public host, not 127.0.0.1: hence -k).
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/api/v1/health/ready || curl -fsSk https://127.0.0.1:8000/api/v1/health/ready || exit 1
ENTRYPOINT ["agcomd"]
