# Dockerfile — builds pgrouter on Debian 12 and ships only the binary, its shared libraries and the
# docker-compose config in debian:12-slim. Tests are not built here (scripts/test.sh runs them).
FROM debian:12 AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# The build half of scripts/install_deps.sh (no PostgreSQL server, GoogleTest or bench tools).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config \
      libboost-dev libpq-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libxxhash-dev \
      libssl-dev libpg-query-dev libprotobuf-c-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DPGROUTER_TESTS=OFF \
 && cmake --build build --target pgrouter -j"$(nproc)" \
 && strip build/pgrouter
# The runtime packages are derived from what the binary actually links (ldd → owning package),
# so this list cannot drift from CMakeLists.txt. Matching on the multiarch directory keeps
# dpkg -S from also naming the i386 copies of a library.
RUN ldd build/pgrouter \
  | awk '$2 == "=>" && $3 ~ /^\// {print $3}' \
  | while read -r lib; do \
      dpkg -S "*/$(basename "$(dirname "$lib")")/$(basename "$lib")" | cut -d: -f1; \
    done \
  | sort -u > /runtime-packages.txt \
 && cat /runtime-packages.txt

FROM debian:12-slim
COPY --from=build /runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive xargs -a /tmp/runtime-packages.txt \
      apt-get install -y --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && useradd --system --no-create-home --shell /usr/sbin/nologin pgrouter
COPY --from=build /src/build/pgrouter /usr/local/bin/pgrouter
# Default config; docker-compose.yml mounts config/pgrouter.docker.yaml over it read-only.
COPY config/pgrouter.docker.yaml /etc/pgrouter/pgrouter.yaml
USER pgrouter
EXPOSE 6432
ENTRYPOINT ["/usr/local/bin/pgrouter", "--config", "/etc/pgrouter/pgrouter.yaml"]
