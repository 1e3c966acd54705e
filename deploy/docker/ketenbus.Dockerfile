# ketenbus, the operators' command (tools/ketenbus): a static binary on a
# distroless base, running as nonroot. deploy/kubernetes runs it as image
# ketenbus in Job streams-ensure. Build from the repository root (the
# build uses its go.work):
#
#     docker build -f deploy/docker/ketenbus.Dockerfile -t ketenbus .

FROM golang:1.26-bookworm AS build
WORKDIR /src
# The modules first, so their download stays cached while the code changes.
COPY go.work go.work.sum ./
COPY events/go.mod events/go.sum events/
COPY schemas/go.mod schemas/go.sum schemas/
COPY services/go.mod services/go.sum services/
COPY tools/go.mod tools/go.sum tools/
RUN cd tools && go mod download
COPY events/ events/
COPY schemas/ schemas/
COPY services/ services/
COPY tools/ tools/
RUN cd tools && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/ketenbus ./ketenbus

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/ketenbus /ketenbus
USER nonroot:nonroot
ENTRYPOINT ["/ketenbus"]
