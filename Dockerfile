# syntax=docker/dockerfile:1
#
# forecast-gateway container image: a static binary on distroless, as UID
# 65532, with no shell. Build (see deploy/README.md):
#
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse HEAD) \
#     -t forecast-gateway:v1.2.3 .
#
# Multi-arch (amd64 and arm64 nodes): docker buildx build --platform linux/amd64,linux/arm64 ...
# The builder runs on the build machine's platform and cross-compiles.

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src

# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG VERSION=
ARG COMMIT=
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath \
      -ldflags "-s -w -X github.com/forecastgw/forecast-gateway/internal/version.Version=${VERSION} -X github.com/forecastgw/forecast-gateway/internal/version.Commit=${COMMIT}" \
      -o /out/forecast-gateway ./cmd/forecast-gateway

# Final image: no shell, no package manager; the binary and CA certificates
# (for AWS and the JWKS URL) only. Pin a digest in production:
# gcr.io/distroless/static-debian12:nonroot@sha256:...
FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=
ARG COMMIT=
LABEL org.opencontainers.image.title="forecast-gateway" \
      org.opencontainers.image.description="gRPC and REST gateway in front of Amazon Forecast" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}"
COPY --from=build /out/forecast-gateway /forecast-gateway
# distroless "nonroot" (numeric, so that runAsNonRoot can verify it).
USER 65532:65532
# gRPC, REST/JSON, admin (/healthz, /readyz, /metrics). The binary listens on
# loopback by default: set FORECAST_GATEWAY_GRPC_ADDR etc. to 0.0.0.0:PORT.
EXPOSE 9090 8080 9091
ENTRYPOINT ["/forecast-gateway"]
