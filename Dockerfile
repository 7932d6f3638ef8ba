# The incidentflow binary for the production topology (docker-compose.yml).
# modernc.org/sqlite is pure Go, so the binary is static.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/incidentflow ./cmd/incidentflow

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/incidentflow /usr/local/bin/incidentflow
USER nonroot
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/incidentflow"]
