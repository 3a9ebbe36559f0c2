# A small image holding ticketsim and its scenarios, for sweeps split over machines
# (docs/distributed.md). Build from the repository root:
#   docker build -t ticketsim:$(git rev-parse --short=12 HEAD) .
FROM rust:1-slim-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends git && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .git comes too: build.rs names the build after its commit, and merge compares builds.
COPY . .
RUN cargo install --path . --locked --profile dist --root /out

FROM debian:bookworm-slim
COPY --from=build /out/bin/ticketsim /usr/local/bin/ticketsim
COPY scenarios /scenarios
WORKDIR /work
# No terminal in a batch job: plain progress lines, no colour.
ENV NO_COLOR=1
ENTRYPOINT ["ticketsim"]
CMD ["run", "walkthrough"]
