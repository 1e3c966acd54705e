# ketenbus-gateway: a static binary on a distroless base, running as nonroot.
# Build from the repository root (the build uses its go.work):
#
#     docker build -f deploy/docker/ketenbus-gateway.Dockerfile -t ketenbus-gateway .
#
# deploy/kubernetes runs it as image ketenbus-gateway; EXPOSE names the ports
# of its Deployment there.

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The modules first, so their download stays cached while the code changes.
COPY go.work go.work.sum ./
COPY events/go.mod events/go.sum events/
COPY schemas/go.mod schemas/go.sum schemas/
COPY services/go.mod services/go.sum services/
COPY tools/go.mod tools/go.sum tools/
RUN cd services && go mod download
COPY events/ events/
COPY schemas/ schemas/
COPY services/ services/
RUN cd services && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ketenbus-gateway ./cmd/ketenbus-gateway

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ketenbus-gateway /ketenbus-gateway
USER nonroot:nonroot
EXPOSE 8080 9100
ENTRYPOINT ["/ketenbus-gateway"]
