# SmoothTask agent, production image.
#
#   DOCKER_BUILDKIT=1 docker build -t smoothtask:latest .        # smoothtaskd from source
#
#   mkdir -p dist && cp target/release/smoothtaskd dist/            # a binary you built
#   DOCKER_BUILDKIT=1 docker build --build-arg BINARY=prebuilt -f Dockerfile \
#       -t smoothtask:latest dist
#
# Needs BuildKit (DOCKER_BUILDKIT=1 with docker 20.10; the default since 23.0): only the stages
# the chosen binary needs are built. Stages:
#   source    builds smoothtaskd (stable + nightly toolchains, bpf-linker; the eBPF object is
#             embedded in the binary by the agent's build script)
#   prebuilt  takes ./smoothtaskd from the build context instead (CI packages the binary it
#             built and tested; docs/deployment.md shows the command)
#   caps      sets smoothtaskd's file capabilities (setcap is not in the final image)
#   final     Debian slim, a non-root user, smoothtaskd with the file capabilities observe mode
#             needs. Nothing else: no tools beyond the base, no compiler.
#
# Without a registry, build the base locally (debootstrap + docker import) and pass it with
# --build-arg BASE_IMAGE=...; tests/runtimes/prepare.sh does exactly that in CI.

ARG BASE_IMAGE=debian:bookworm-slim
ARG RUST_IMAGE=rust:1.95-bookworm
# source or prebuilt
ARG BINARY=source

# --- smoothtaskd from source -------------------------------------------------------------------
FROM ${RUST_IMAGE} AS binary-source
WORKDIR /src
# The eBPF programs are built with nightly (-Z build-std=core) and linked by bpf-linker, which
# `cargo xtask setup` builds against nightly's own libLLVM.
RUN rustup toolchain install nightly --profile minimal --component rust-src
COPY . .
RUN cargo xtask setup \
 && cargo build --release --locked -p smoothtask-agent --bin smoothtaskd \
 && install -D -m 0755 target/release/smoothtaskd /out/smoothtaskd

# --- smoothtaskd built elsewhere -----------------------------------------------------------------
FROM scratch AS binary-prebuilt
COPY smoothtaskd /out/smoothtaskd

FROM binary-${BINARY} AS binary

# --- file capabilities, set where setcap is (BuildKit's COPY keeps them) -------------------------
FROM ${BASE_IMAGE} AS caps
COPY --from=binary /out/smoothtaskd /smoothtaskd
# Observe mode, as the non-root user, needs exactly these two (the container must be allowed
# both: --cap-add, or --privileged; a missing one makes the exec fail with EPERM):
#   CAP_SYS_ADMIN       bpf() and perf_event_open on tracepoints (Docker 20.10 knows neither
#                       CAP_BPF nor CAP_PERFMON, which would do on newer engines), and
#                       mounting tracefs when the host has not
#   CAP_DAC_READ_SEARCH read tracefs (root-only) and every cgroup's files, whatever their owner
# Enforce mode writes cgroup files owned by root: run as root (--user 0, plus
# CAP_DAC_OVERRIDE) with /sys/fs/cgroup mounted read-write; see docs/deployment.md.
RUN set -eux; \
    if ! command -v setcap >/dev/null; then \
      apt-get update; \
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libcap2-bin; \
    fi; \
    setcap cap_sys_admin,cap_dac_read_search+ep /smoothtaskd; \
    getcap /smoothtaskd

# --- the runtime image ---------------------------------------------------------------------------
FROM ${BASE_IMAGE}
RUN set -eux; \
    groupadd --system --gid 10001 smoothtask; \
    useradd --system --uid 10001 --gid smoothtask --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin smoothtask; \
    install -d -m 0755 /etc/smoothtask; \
    install -d -m 0750 -o smoothtask -g smoothtask /var/log/smoothtask /var/lib/smoothtask
COPY --from=caps /smoothtaskd /usr/bin/smoothtaskd

# The API on every interface of the container, so -p / a Service can reach it. Off loopback the
# agent refuses to start without a bearer token: put one in /etc/smoothtask/api-token (mounted
# from the host or a Secret) or set SMOOTHTASK_API__TOKEN (then also SMOOTHTASK_API__TOKEN_FILE=).
# Events go to /var/log/smoothtask/events.ndjson (rotated); the agent's own log to stderr.
ENV SMOOTHTASK_API__LISTEN=0.0.0.0:8080 \
    SMOOTHTASK_API__TOKEN_FILE=/etc/smoothtask/api-token \
    SMOOTHTASK_EVENTS__OUTPUT=file \
    SMOOTHTASK_EVENTS__FILE__PATH=/var/log/smoothtask/events.ndjson
EXPOSE 8080
USER 10001:10001
# /healthz needs no token; bash's /dev/tcp, so the image needs no HTTP client.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["/usr/bin/smoothtaskd"]
