# Multi-stage build of agcomd: the same cgo build and tags as the Makefile,
# a small non-root runtime with the database on a volume.

FROM golang:1.26-bookworm AS build
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
 && useradd --system --uid 10001 --home-dir /var/lib/agcom --create-home agcom
COPY --from=build /out/agcomd /usr/local/bin/agcomd
USER agcom
WORKDIR /var/lib/agcom
ENV DB_PATH=/var/lib/agcom/data/agcom.db \
    HOST=0.0.0.0 \
    PORT=8000
VOLUME ["/var/lib/agcom/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8000/api/v1/health/ready || exit 1
ENTRYPOINT ["agcomd"]
