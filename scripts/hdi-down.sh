#!/usr/bin/env bash
# hdi-down.sh (make hdi-down): remove the container `make hdi-up` started and
# its key files. Attached targets are left alone: `ferry compute detach hdi`.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
docker rm -f "${FERRY_HDI_NAME:-ferry-hdi}" >/dev/null 2>&1 || true
rm -rf "${FERRY_HDI_DIR:-$here/../.hdi}"
echo "hdi-down: removed ${FERRY_HDI_NAME:-ferry-hdi}"
