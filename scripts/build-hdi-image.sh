#!/usr/bin/env bash
# build-hdi-image.sh: build ferry-test-hdi:<tag>, the image of an HDInsight
# head node for ferry's tests and `make hdi-up`: the remote target image
# (scripts/build-test-image.sh: sshd, python3, user "ferry") plus the
# fakespark TEST STAND-INS for spark-submit, yarn and hdfs
# (internal/testutil/fakespark; no Spark or Hadoop can be installed here).
# A user "yarn" runs the stand-in ResourceManager/NodeManager, so YARN
# containers run under another uid than the submitting user, as on a real
# cluster; "HDFS" is a local directory.
#
# The tag hashes this script, the stand-ins and the base image's tag, so a
# change rebuilds; an existing image is reused at once. Nothing is pulled:
# `docker build` starts from the locally built base image.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fake="$here/../internal/testutil/fakespark"
step() { printf 'build-hdi-image: %s\n' "$*" >&2; }

bash "$here/build-test-image.sh" >&2
base="ferry-test-target:$(sha256sum "$here/build-test-image.sh" | cut -c1-12)"
files() { find . \( -name '*.py' -o -type l \) -not -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z; }
tag=$( (sha256sum "${BASH_SOURCE[0]}"; cd "$fake" && files | xargs -0 sha256sum; echo "$base") | sha256sum | cut -c1-12)
image="ferry-test-hdi:$tag"
if docker image inspect "$image" >/dev/null 2>&1; then
	step "image $image present"
	echo "$image"
	exit 0
fi
ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/fakespark"
(cd "$fake" && files | xargs -0 cp --parents -P -t "$ctx/fakespark")
cat >"$ctx/ferry-hdi-start" <<'START'
#!/bin/sh
# Start the stand-in ResourceManager/NodeManager as "yarn", then sshd.
set -eu
install -d -m 0777 /var/lib/fakeyarn/requests /var/lib/fakeyarn/responses /var/lib/fakeyarn/staging /var/lib/fakehdfs
install -d -m 0755 -o yarn -g yarn /var/lib/fakeyarn/apps
[ -e /var/lib/fakeyarn/submits.log ] || install -m 0666 /dev/null /var/lib/fakeyarn/submits.log
setpriv --reuid=yarn --regid=yarn --init-groups env -i PATH=/usr/local/bin:/usr/bin:/bin \
	python3 /opt/fakespark/fakespark.py rm >>/var/log/fakeyarn.log 2>&1 &
exec /usr/local/bin/ferry-target-start
START
cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $base
COPY fakespark /opt/fakespark
COPY ferry-hdi-start /usr/local/bin/ferry-hdi-start
RUN useradd --system --user-group --home-dir /var/lib/fakeyarn --shell /usr/sbin/nologin yarn \
 && chmod 0755 /usr/local/bin/ferry-hdi-start \
 && ln -s /opt/fakespark/spark-submit /opt/fakespark/yarn /opt/fakespark/hdfs /usr/local/bin/
CMD ["/usr/local/bin/ferry-hdi-start"]
DOCKERFILE
step "docker build $image from $base"
DOCKER_BUILDKIT=0 docker build -q -t "$image" "$ctx" >/dev/null
docker tag "$image" ferry-test-hdi:latest
echo "$image"
